"""Views shared by several pages: attribution pickers and grids, image galleries, one image's detail."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import streamlit as st
import torch

from app_pages.data_sets import ALL_METHODS, GAIA_METHODS
from app_pages.frame import attempt
from app_pages.model_picker import LoadedModel, class_name
from app_pages.scoring import Scored
from app_pages.state import choose
from gaia_core import charts
from gaia_core.app_support import channel_values, samples, tables
from gaia_core.attribution import (
    NOISE_TUNNEL_TYPES,
    AttributionConfig,
    AttributionResult,
    attribute,
    available_methods,
    method_spec,
)
from gaia_core.attribution.overlay import (
    blend,
    common_vmax,
    grid_png,
    render_heatmap,
    to_png_bytes,
)
from gaia_core.attribution.readout import READOUTS
from gaia_core.data import images
from gaia_core.data.transforms import denormalize
from gaia_core.device import model_device
from gaia_core.evaluation import ood_tables
from gaia_core.scores import channel_quantity, method_label

THUMB = 96  # pixels of a gallery thumbnail's shorter side
# Scores in every table: enough digits to compare with a threshold (0.0084 vs 0.008397 reads wrong).
SCORE_FORMAT = "%.6g"
PROFILE_LABELS = {
    "gaia_z": (
        "GAIA-Z: non-zero ratio of the gradient per layer",
        f"mean over channels of {channel_quantity('gaia_z')}",
    ),
    "gaia_a": ("GAIA-A: channel-average ratio per layer", f"mean over channels of {channel_quantity('gaia_a')}"),
}


# ---------------------------------------------------------------------------------------------
# Attribution


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
        groups: group title -> (inputs (k, C, H, W), one caption per input).
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
        st.markdown(f"**{title}**")
        columns = st.columns(6)
        for k, caption in enumerate(captions):
            text = f"{caption} · {READOUTS[readout].label} {values[start + k]:.3f}"
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


# ---------------------------------------------------------------------------------------------
# Galleries


def row_inputs(scored: Scored, rows: pd.DataFrame) -> tuple[torch.Tensor, list[str]]:
    """Model inputs (k, C, H, W) of rows of the scored table (any sets), in row order."""
    inputs, ids = [], []
    for _, row in rows.iterrows():
        x, sample_ids = images.dataset_inputs(scored.datasets[row[tables.SET_COLUMN]], [row["index"]])
        inputs.append(x[0])
        ids.extend(sample_ids)
    return (torch.stack(inputs) if inputs else torch.empty(0)), ids


def _rows_signature(rows: pd.DataFrame) -> int:
    """Which images ``rows`` lists, in order: a new list sends its gallery back to page 1."""
    return hash(tuple(zip(rows[tables.SET_COLUMN].tolist(), rows["index"].tolist())))


def _gallery_page(key: str, rows: pd.DataFrame, pages: int) -> int:
    """The page (0-based) the gallery ``key`` shows: kept across reruns, reset to 0 when its rows
    change, clamped to the pages there are."""
    signature = _rows_signature(rows)
    if st.session_state.get(f"{key}_rows") != signature:
        st.session_state[f"{key}_rows"] = signature
        st.session_state[f"{key}_page"] = 0
    page = min(max(int(st.session_state.get(f"{key}_page", 0)), 0), pages - 1)
    st.session_state[f"{key}_page"] = page
    return page


def _turn_page(key: str, step: int) -> None:
    st.session_state[f"{key}_page"] = int(st.session_state.get(f"{key}_page", 0)) + step


def _pager(key: str, page: int, pages: int, first: int, last: int, total: int) -> None:
    """Previous / next buttons around "images first–last of total (page k of n)"."""
    back, where, forward = st.columns([2, 5, 2], vertical_alignment="center")
    back.button(
        "Previous",
        key=f"{key}_prev",
        icon=":material/chevron_left:",
        disabled=page == 0,
        on_click=_turn_page,
        args=(key, -1),
        width="stretch",
    )
    where.caption(f"Images {first}–{last} of {total} (page {page + 1} of {pages})")
    forward.button(
        "Next",
        key=f"{key}_next",
        icon=":material/chevron_right:",
        disabled=page == pages - 1,
        on_click=_turn_page,
        args=(key, 1),
        width="stretch",
    )


def gallery(
    loaded: LoadedModel,
    scored: Scored,
    rows: pd.DataFrame,
    caption_column: str | None,
    limit: int = 24,
    key: str = "gallery",
) -> None:
    """Thumbnails of table rows, six per line, captioned with the set and a score, ``limit`` per
    page with a pager below when there are more.

    Args:
        rows: rows of the scored table (any sets), in the order to show them.
        caption_column: a score column to caption each image with (None: none).
        limit: images per page.
        key: the gallery's own key (one per gallery on a page); its page is kept across reruns
            and goes back to the first when ``rows`` change.
    """
    if rows.empty:
        st.caption("No images.")
        return
    pages = -(-len(rows) // limit)
    page = _gallery_page(key, rows, pages)
    shown = rows.iloc[page * limit : (page + 1) * limit]
    x, _ = attempt("Reading the images failed", row_inputs, scored, shown) or (None, None)
    if x is None:
        return
    columns = st.columns(6)
    for k, (picture, (_, row)) in enumerate(zip(denormalize(x, loaded.spec.mean, loaded.spec.std), shown.iterrows())):
        text = samples.row_name(row, scored.datasets, lambda c: class_name(loaded, c))
        if caption_column:
            text += f" · {method_label(caption_column)} {row[caption_column]:.4g}"
        columns[k % 6].image(images.upscale(picture, THUMB), caption=text, width="stretch")
    if pages > 1:
        _pager(key, page, pages, page * limit + 1, page * limit + len(shown), len(rows))


# ---------------------------------------------------------------------------------------------
# One image


def image_detail(
    loaded: LoadedModel,
    x: torch.Tensor,
    name: str,
    row: Mapping,
    channels: Mapping[str, Mapping[str, np.ndarray]],
    reference: Scored | None,
    config: AttributionConfig | None,
    readout: str,
    key: str,
    tpr: float = 0.95,
) -> None:
    """Everything about one image: the picture and its attribution map, every score placed on
    the ID reference, and its per-layer profile against the ID mean.

    Args:
        x: (C, H, W) model input.
        row: its table row (pred, confidence and one score per method).
        channels: method -> layer -> (C_layer,) its GAIA per-channel values.
        reference: the scored ID set (None: scores are shown without a reference).
        tpr: the fraction of ID images the thresholds keep (the page's own TPR, so the detail
            agrees with the lists beside it).
    """
    methods = [m for m in ALL_METHODS if m in row]
    thresholds = None
    if reference is not None:
        thresholds = ood_tables.thresholds_at_tpr(reference.result.id_scores.table, methods, tpr)
    verdicts = tables.score_verdicts(
        {m: float(row[m]) for m in methods}, None if reference is None else reference.result.id_scores.table, thresholds
    )
    # Picture, map and verdict side by side, the table under them at full width: beside them its
    # threshold and flag columns were cut off at a projector's 1024 px.
    picture_column, map_column, verdict_column = st.columns([1, 1, 1.3])
    with picture_column:
        st.image(images.display_image(x, loaded.spec.mean, loaded.spec.std, 192), caption=name, width="stretch")
    with map_column:
        target = target_picker(loaded, int(row["pred"]), key=f"{key}_target")
        result = attribution_maps(loaded, x[None], config, target) if config is not None else None
        if result is not None:
            tile = overlays(loaded, x[None], result.maps, common_vmax(result.maps))[0]
            value = READOUTS[readout].compute(result.maps[0])
            st.image(
                tile,
                caption=f"{method_spec(config.method).label} for {class_name(loaded, int(result.target[0]))}"
                f" · {READOUTS[readout].label} {value:.3f}",
                width="stretch",
            )
            st.download_button(
                "Map (PNG)",
                lambda: to_png_bytes(tile),
                file_name=f"{name}_{config.method}.png",
                mime="image/png",
                key=f"{key}_map_png",
                icon=":material/download:",
            )
    with verdict_column:
        st.markdown(
            f"Prediction **{class_name(loaded, int(row['pred']))}**  \nconfidence **{100 * row['confidence']:.1f}%**"
        )
        flagged = verdicts["flagged"].dropna()
        if len(flagged):
            st.markdown(
                f"**Flagged as OOD by {int(flagged.sum())} of {len(flagged)} methods** "
                f"(each at the threshold that keeps {tpr:.0%} of the ID set)"
            )
            shown = verdicts.drop(columns=["method"])
        else:
            st.caption("No ID reference yet (computing…): scores are shown without percentiles or thresholds.")
            shown = verdicts[["label", "score"]]
    st.dataframe(
        shown,
        hide_index=True,
        key=f"{key}_verdicts",
        column_config={
            "label": "method",
            "score": st.column_config.NumberColumn("score", format=SCORE_FORMAT),
            "id_percentile": st.column_config.ProgressColumn(
                "ID percentile", min_value=0, max_value=100, format="%.1f%%"
            ),
            "threshold": st.column_config.NumberColumn(f"{tpr:.0%} TPR threshold", format=SCORE_FORMAT),
            "flagged": st.column_config.CheckboxColumn("flagged as OOD"),
        },
    )
    if reference is not None:
        choose("inspect_positions", methods, ["gaia_a", "gaia_z", "msp"])
        picked = st.multiselect(
            "Place on the ID distribution", methods, key="inspect_positions", format_func=method_label
        )
        id_table = reference.result.id_scores.table
        for column, method in zip(st.columns(3) * (len(picked) // 3 + 1), picked):
            column.plotly_chart(
                charts.score_position_figure(
                    float(row[method]), id_table[method].to_numpy(), thresholds[method], method_label(method)
                ),
                key=f"{key}_pos_{method}",
            )
    if reference is None:
        return
    columns = st.columns(2)
    for column, method in zip(columns, GAIA_METHODS):
        if method not in channels or method not in reference.result.id_scores.channels:
            continue
        id_profile = charts.id_reference_profile(charts.layer_means(reference.result.id_scores.channels[method]))
        title, y_label = PROFILE_LABELS[method]
        figure = attempt(
            "Profile",
            charts.layer_profile_figure,
            channel_values.image_profile(channels[method]),
            *id_profile,
            title=title,
            y_label=y_label,
        )
        if figure is not None:
            column.plotly_chart(figure, key=f"{key}_profile_{method}")


@st.cache_resource(max_entries=8, show_spinner="Checking whether GAIA can work on this model…")
def _applicability(_loaded: LoadedModel, model_key: tuple, id_set: str):
    from app_pages.scoring import get_dataset
    from gaia_core.device import model_device
    from gaia_core.scores.applicability import check_applicability

    data = get_dataset(_loaded, id_set)
    x = torch.stack([data[i].image for i in range(min(4, len(data)))])
    return check_applicability(_loaded.model, x.to(model_device(_loaded.model)))


def gaia_applicability_note(loaded: LoadedModel) -> None:
    """A warning beside GAIA's numbers when GAIA-Z (or GAIA-A) cannot separate anything on this model,
    checked on a few images of the ID set (`gaia_core.scores.applicability`)."""
    id_set = st.session_state.get("id_set")
    if not id_set:
        return
    report = attempt("Could not check whether GAIA applies to this model", _applicability, loaded, loaded.key, id_set)
    if report is not None and report.note:
        st.warning(report.note, icon=":material/warning:")
