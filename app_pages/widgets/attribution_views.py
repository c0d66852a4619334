"""Attribution widgets shared by several pages: the method pickers, one set of maps (cached), the
class a map explains, and side-by-side grids of maps on one colour scale."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

import numpy as np
import streamlit as st
import torch

from app_pages.shell.error_frame import attempt
from app_pages.shell.model_choice import LoadedModel, class_name
from app_pages.shell.state import choose
from app_pages.widgets.formats import THUMB
from gaia_core.attribution import (
    NOISE_TUNNEL_TYPES,
    AttributionConfig,
    AttributionResult,
    attribute,
    available_methods,
    method_spec,
)
from gaia_core.attribution.overlay import blend, common_vmax, grid_png, render_heatmap
from gaia_core.attribution.readout import READOUTS
from gaia_core.data import images
from gaia_core.data.transforms import denormalize
from gaia_core.device import model_device
from gaia_core.safety.markdown import escape_markdown


def attribution_picker(readout: bool = True) -> tuple[AttributionConfig | None, str]:
    """The attribution method (Captum), optional noise tunnel and concentration readout pickers."""
    methods = available_methods()
    choose("attr_method", methods, "saliency")
    choose("attr_noise", ["none", *NOISE_TUNNEL_TYPES], "none")
    choose("attr_readout", list(READOUTS), "sparsity")
    cols = st.columns(3 if readout else 2)
    method = cols[0].selectbox(
        "Attribution method", methods, key="attr_method", format_func=lambda n: method_spec(n).label
    )
    noise = cols[1].selectbox(
        "Noise tunnel",
        ["none", *NOISE_TUNNEL_TYPES],
        key="attr_noise",
        help="Average the map over noisy copies of the input (SmoothGrad and variants).",
    )
    name = "sparsity"
    if readout:
        name = cols[2].selectbox(
            "Concentration readout",
            list(READOUTS),
            key="attr_readout",
            format_func=lambda n: READOUTS[n].label,
            help="How concentrated a map is: " + " ".join(r.label + ": " + r.description for r in READOUTS.values()),
        )
    st.caption(method_spec(method).description)
    config = attempt(
        "Attribution settings", AttributionConfig, method=method, noise_tunnel=None if noise == "none" else noise
    )
    return config, name


@st.cache_resource(max_entries=64, show_spinner=False)
def _maps(
    model_key: tuple, digest: str, method: str, noise: str | None, target: int | None, _model, _x
) -> AttributionResult:
    return attribute(_model, _x, AttributionConfig(method=method, noise_tunnel=noise), target=target)


def attribution_maps(
    loaded: LoadedModel, x: torch.Tensor, config: AttributionConfig, target: int | None = None
) -> AttributionResult | None:
    """Maps (B, H, W) of inputs (B, C, H, W) for class ``target`` (None: each input's predicted
    class), cached per model, inputs, method and target."""
    digest = hashlib.sha256(x.detach().cpu().contiguous().numpy().tobytes()).hexdigest()
    with st.spinner(f"Computing {method_spec(config.method).label} maps…"):
        return attempt(
            "Attribution failed",
            _maps,
            loaded.key,
            digest,
            config.method,
            config.noise_tunnel,
            target,
            loaded.model,
            x.to(model_device(loaded.model)),
        )


def target_picker(loaded: LoadedModel, predicted: int, key: str) -> int | None:
    """The class an attribution map explains: None (the predicted class) or one the user picks."""
    predicted_class = -1  # a selectbox shows a None option as "no choice"
    classes = [predicted_class, *range(loaded.choice.num_classes or loaded.spec.num_classes)]
    # The predicted class is part of the key: a new image in focus gets a fresh box that names its
    # own prediction (a kept widget would show the previous image's "predicted: …" label).
    key = f"{key}_{predicted}"
    choose(key, classes, predicted_class, keep=False)
    picked = st.selectbox(
        "Explain class",
        classes,
        key=key,
        format_func=lambda c: (
            f"predicted: {class_name(loaded, predicted)}" if c == predicted_class else class_name(loaded, c)
        ),
    )
    return None if picked == predicted_class else picked


def overlays(loaded: LoadedModel, x: torch.Tensor, maps: np.ndarray, vmax: float) -> list[np.ndarray]:
    """Heat maps blended on the de-normalized images, on one colour scale, upscaled."""
    pictures = denormalize(x, loaded.spec.mean, loaded.spec.std)
    return [images.upscale(blend(p, render_heatmap(m, vmax=vmax), 0.55), 2 * THUMB) for p, m in zip(pictures, maps)]


def comparison_grid(
    loaded: LoadedModel,
    groups: Mapping[str, tuple[torch.Tensor, Sequence[str]]],
    config: AttributionConfig,
    readout: str,
    key: str,
) -> None:
    """Side-by-side attribution maps of several groups of images (ID vs OOD), one colour scale.

    Args:
        groups: group title -> (inputs (k, C, H, W), one caption per input); titles and captions
            are plain text (they name the user's sets and files).
    """
    groups = {title: (x, captions) for title, (x, captions) in groups.items() if len(x)}
    if not groups:
        st.info("No images to compare.")
        return
    # Maps per group: a group that recurs across sessions (the ID images) stays cached.
    results = [attribution_maps(loaded, x, config) for x, _ in groups.values()]
    if any(r is None for r in results):
        return
    maps = np.concatenate([r.maps for r in results])
    x_all = torch.cat([x for x, _ in groups.values()])
    vmax = common_vmax(maps)
    values = np.atleast_1d(READOUTS[readout].compute(maps))
    tiles = overlays(loaded, x_all, maps, vmax)
    start, labels = 0, []
    for title, (x, captions) in groups.items():
        st.markdown(f"**{escape_markdown(title)}**")
        columns = st.columns(6)
        for k, caption in enumerate(captions):
            text = f"{escape_markdown(caption)} · {READOUTS[readout].label} {values[start + k]:.3f}"
            columns[k % len(columns)].image(tiles[start + k], caption=text, width="stretch")
            labels.append(f"{caption[:18]} {values[start + k]:.2f}")
        start += len(x)
    st.caption(
        f"{method_spec(config.method).label}, one colour scale for all maps (vmax {vmax:.3g}); "
        f"{READOUTS[readout].description}"
    )
    st.download_button(
        "Download the grid (PNG)",
        lambda: grid_png(tiles, 6, labels),  # encoded on click, not on every rerun
        file_name=f"gaia_{config.method}_grid.png",
        mime="image/png",
        key=f"{key}_grid_png",
    )
