"""Attribution widgets shared by several pages: the method pickers (Grad-CAM's layer, the sign shown,
the baseline), one set of maps (cached), the class a map explains, one map with its colour bar, one
image under several methods, and side-by-side grids of maps on one colour scale."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping, Sequence

import numpy as np
import streamlit as st
import torch

from app_pages.shell.error_frame import attempt
from app_pages.shell.model_choice import LoadedModel, class_name, current_model
from app_pages.shell.state import choose
from app_pages.widgets.formats import THUMB
from gaia_core.attribution import (
    BASELINE_TYPES,
    NOISE_TUNNEL_TYPES,
    AttributionConfig,
    AttributionResult,
    attribute,
    available_methods,
    cam_layers,
    default_cam_layer,
    method_spec,
)
from gaia_core.attribution.methods import MethodSpec
from gaia_core.attribution.overlay import SIGNS, blend, common_vmax, grid_png, render_heatmap, with_colorbar
from gaia_core.attribution.readout import READOUTS
from gaia_core.data import images
from gaia_core.data.transforms import denormalize
from gaia_core.device import model_device
from gaia_core.safety.markdown import escape_markdown

# Captum's `visualize_image_attr` signs, as the picker names them.
SIGN_LABELS = {
    "absolute": "absolute value",
    "positive": "positive",
    "negative": "negative",
    "all": "all (blue − / red +)",
}
BASELINE_LABELS = {
    "constant": "zeros (the mean image)",
    "blurred": "blurred input",
    "uniform_noise": "uniform noise",
}


def _layer_label(layer: str, default: str) -> str:
    return f"{layer} (default: the last conv stage)" if layer == default else layer


def _cam_layers() -> tuple[list[str], str] | None:
    """The model's layers Grad-CAM can explain and its default, or None (no conv layer, no model)."""
    loaded = current_model()
    layers = attempt("Grad-CAM layers", cam_layers, loaded.model) if loaded is not None else None
    return (layers, default_cam_layer(loaded.model)) if layers else None


def _method_settings(spec: MethodSpec) -> dict:
    """Grad-CAM's layer, the sign shown and the baseline, each offered where ``spec`` takes it. The
    layer picked for Grad-CAM stays in the settings of the other methods (which ignore it), so that
    the Grad-CAM maps beside theirs (`methods_side_by_side`) explain it too."""
    options: dict = {}
    found = _cam_layers()
    if found is not None and (spec.uses_layer or st.session_state.get("attr_layer") in found[0]):
        layers, default = found
        choose("attr_layer", layers, default)
        options["layer"] = st.session_state["attr_layer"]
    if not (spec.uses_layer or spec.signed or spec.uses_baseline):
        return options
    columns = st.columns(3)
    if spec.uses_layer and found is not None:
        options["layer"] = columns[0].selectbox(
            "Grad-CAM layer",
            found[0],
            key="attr_layer",
            format_func=lambda layer: _layer_label(layer, found[1]),
            help="The layer whose channels Grad-CAM weighs by their mean gradient; deeper layers give coarser maps.",
        )
    if spec.signed:
        choose("attr_sign", list(SIGNS), "absolute")
        options["sign"] = columns[1].selectbox(
            "Sign shown",
            list(SIGNS),
            key="attr_sign",
            format_func=SIGN_LABELS.get,
            help="Which part of the signed map is drawn, as Captum's visualize_image_attr signs it. "
            "The concentration readouts always measure |map|.",
        )
    if spec.uses_baseline:
        choose("attr_baseline", list(BASELINE_TYPES), "constant")
        options["baseline_type"] = columns[2].selectbox(
            "Baseline",
            list(BASELINE_TYPES),
            key="attr_baseline",
            format_func=BASELINE_LABELS.get,
            help="The reference the map explains the change from: zeros of the normalized input (the data's "
            "mean image), the input blurred (its colours without its edges) or uniform noise in its range.",
        )
    return options


def attribution_picker(readout: bool = True, settings: bool = True) -> tuple[AttributionConfig | None, str]:
    """The attribution method (Captum), optional noise tunnel and concentration readout pickers and,
    with ``settings``, the method's own options: Grad-CAM's layer, the sign shown (signed methods),
    the baseline (Integrated Gradients, DeepLift, Occlusion).

    Args:
        readout: offer the concentration readout.
        settings: offer the layer, sign and baseline (without them: the defaults).
    """
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
    spec = method_spec(method)
    options = {"method": method, "noise_tunnel": None if noise == "none" else noise}
    if settings:
        options |= _method_settings(spec)
    st.caption(spec.description + _settings_note(options))
    config = attempt("Attribution settings", AttributionConfig, **options)
    return config, name


def _settings_note(options: Mapping) -> str:
    parts = []
    if options.get("layer") and method_spec(options["method"]).uses_layer:
        parts.append(f"explains layer {options['layer']}")
    if "baseline_type" in options:
        parts.append(f"baseline: {BASELINE_LABELS[options['baseline_type']]}")
    if "sign" in options:
        parts.append(f"sign shown: {SIGN_LABELS[options['sign']]}")
    return f" ({'; '.join(parts)})" if parts else ""


@st.cache_resource(max_entries=64, show_spinner=False)
def _maps(
    model_key: tuple, digest: str, config: AttributionConfig, target: int | None, _model, _x
) -> AttributionResult:
    return attribute(_model, _x, config, target=target)


def attribution_maps(
    loaded: LoadedModel, x: torch.Tensor, config: AttributionConfig, target: int | None = None
) -> AttributionResult | None:
    """Maps (B, H, W) of inputs (B, C, H, W) for class ``target`` (None: each input's predicted
    class), cached per model, inputs, settings and target; the result carries ``config`` (its
    sign says how to show the maps, which do not depend on it)."""
    digest = hashlib.sha256(x.detach().cpu().contiguous().numpy().tobytes()).hexdigest()
    with st.spinner(f"Computing {method_spec(config.method).label} maps…"):
        result = attempt(
            "Attribution failed",
            _maps,
            loaded.key,
            digest,
            dataclasses.replace(config, sign="absolute"),
            target,
            loaded.model,
            x.to(model_device(loaded.model)),
        )
    return None if result is None else dataclasses.replace(result, config=config)


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


def overlays(
    loaded: LoadedModel, x: torch.Tensor, maps: np.ndarray, vmax: float, sign: str = "absolute"
) -> list[np.ndarray]:
    """Heat maps (the part ``sign`` names) blended on the de-normalized images, on one colour scale, upscaled."""
    pictures = denormalize(x, loaded.spec.mean, loaded.spec.std)
    return [
        images.upscale(blend(p, render_heatmap(m, sign=sign, vmax=vmax), 0.55), 2 * THUMB)
        for p, m in zip(pictures, maps)
    ]


def map_with_colorbar(loaded: LoadedModel, x: torch.Tensor, result: AttributionResult) -> np.ndarray:
    """The first map of ``result`` on its image (x: (1, C, H, W)), in the sign its config asks for,
    with its colour bar to the right: one uint8 (H', W', 3) picture (also what its PNG download holds)."""
    sign = result.config.sign
    vmax = common_vmax(result.maps[:1], sign)
    tile = overlays(loaded, x[:1], result.maps[:1], vmax, sign)[0]
    return with_colorbar(tile, vmax, sign)


def method_config(base: AttributionConfig, method: str) -> AttributionConfig:
    """``base``'s settings for another method: its layer, sign and baseline where that method takes them."""
    spec = method_spec(method)
    return dataclasses.replace(
        base,
        method=method,
        layer=base.layer if spec.uses_layer else None,
        sign=base.sign if spec.signed else "absolute",
        baseline_type=base.baseline_type if spec.uses_baseline else "constant",
    )


def methods_side_by_side(
    loaded: LoadedModel, x: torch.Tensor, name: str, base: AttributionConfig | None, key: str
) -> None:
    """One image (x: (C, H, W)) under several attribution methods side by side, each map on its own
    colour scale with its colour bar (methods measure different things), for its predicted class.

    Args:
        name: the image's name, plain text.
        base: the picker's settings (noise tunnel, Grad-CAM layer, sign, baseline) each method takes
            where it applies; None: the defaults.
    """
    # None at first: each method is a model pass per image in focus, for every student of a class.
    picked = st.multiselect(
        "Methods side by side",
        available_methods(),
        key=f"{key}_side_methods",
        format_func=lambda m: method_spec(m).label,
        placeholder="Pick methods to compare on this image",
        help="The same image explained by each method, each on its own colour scale.",
    )
    if not picked:
        return
    base = base or AttributionConfig()
    for row in range(0, len(picked), 3):
        columns = st.columns(3)
        for column, method in zip(columns, picked[row : row + 3]):
            config = attempt(f"{method_spec(method).label} settings", method_config, base, method)
            result = None if config is None else attribution_maps(loaded, x[None], config)
            if result is None:
                continue
            note = f" · layer {result.layer}" if result.layer else ""
            if config.sign != "absolute":
                note += f" · {SIGN_LABELS[config.sign]}"
            if config.baseline_type != "constant":
                note += f" · baseline {BASELINE_LABELS[config.baseline_type]}"
            column.image(
                map_with_colorbar(loaded, x[None], result),
                caption=f"{method_spec(method).label}{note} · {escape_markdown(name)}",
                width="stretch",
            )


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
    vmax = common_vmax(maps, config.sign)
    values = np.atleast_1d(READOUTS[readout].compute(maps))
    tiles = overlays(loaded, x_all, maps, vmax, config.sign)
    start, labels = 0, []
    for title, (x, captions) in groups.items():
        st.markdown(f"**{escape_markdown(title)}**")
        columns = st.columns(6)
        for k, caption in enumerate(captions):
            text = f"{escape_markdown(caption)} · {READOUTS[readout].label} {values[start + k]:.3f}"
            columns[k % len(columns)].image(tiles[start + k], caption=text, width="stretch")
            labels.append(f"{caption[:18]} {values[start + k]:.2f}")
        start += len(x)
    layer = f" of layer {results[0].layer}" if results[0].layer else ""
    st.caption(
        f"{method_spec(config.method).label}{layer}, {SIGN_LABELS[config.sign]}, one colour scale for all maps "
        f"(vmax {vmax:.3g}); {READOUTS[readout].description}"
    )
    st.download_button(
        "Download the grid (PNG)",
        lambda: grid_png(tiles, 6, labels),  # encoded on click, not on every rerun
        file_name=f"gaia_{config.method}_grid.png",
        mime="image/png",
        key=f"{key}_grid_png",
    )
