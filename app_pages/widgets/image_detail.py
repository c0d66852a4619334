"""One image in detail, shared by Inspect images, Misflagged samples and Browse images: the picture
with its file name and path, its true and predicted class by name, its attribution map, every score
placed on the ID reference, its per-layer profile, and (for an image of a scoring run) buttons that
open it in Inspect images or What if?."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st
import torch

from app_pages.shell.error_frame import attempt
from app_pages.shell.model_choice import LoadedModel
from app_pages.shell.scoring_jobs import Scored
from app_pages.shell.set_choices import ALL_METHODS
from app_pages.shell.state import choose
from app_pages.widgets.attribution_views import attribution_maps, map_with_colorbar, target_picker
from app_pages.widgets.class_labels import class_text, run_names
from app_pages.widgets.formats import SCORE_FORMAT
from app_pages.widgets.sent_image import TARGETS, send_buttons, sendable
from gaia_core import charts
from gaia_core.app_support import channel_values, tables
from gaia_core.attribution import AttributionConfig, method_spec
from gaia_core.attribution.overlay import to_png_bytes
from gaia_core.attribution.readout import READOUTS
from gaia_core.data import images
from gaia_core.evaluation import ood_tables
from gaia_core.safety.markdown import escape_markdown
from gaia_core.scores import GAIA_METHODS, channel_quantity, method_label

PROFILE_LABELS = {
    "gaia_z": (
        "GAIA-Z: non-zero ratio of the gradient per layer",
        f"mean over channels of {channel_quantity('gaia_z')}",
    ),
    "gaia_a": ("GAIA-A: channel-average ratio per layer", f"mean over channels of {channel_quantity('gaia_a')}"),
}


@dataclass(frozen=True)
class ImageDetail:
    """One image to show in detail, and what to show it against."""

    # (C, H, W) the model's input.
    x: torch.Tensor
    # Its name as plain text (the picture's caption, the map's file name).
    name: str
    # Its table row: pred, confidence and one score per method.
    row: Mapping
    # method -> layer -> (C_layer,) its GAIA per-channel values.
    channels: Mapping[str, Mapping[str, np.ndarray]]
    # The scored ID set (None: the scores are shown without percentiles or thresholds).
    reference: Scored | None
    # The attribution method of its map (None: no map).
    attribution: AttributionConfig | None
    # The concentration readout shown under the map (`gaia_core.attribution.readout.READOUTS`).
    readout: str
    # Fraction of ID images the thresholds keep: the page's own TPR, so the detail agrees with
    # the lists beside it.
    tpr: float = 0.95
    # Pages an image of the reference's run can be opened in (`app_pages.widgets.sent_image.TARGETS`).
    send_to: tuple[str, ...] = tuple(TARGETS)


def _map(loaded: LoadedModel, detail: ImageDetail, key: str) -> None:
    """The class picker, the attribution map for it and the map's download."""
    target = target_picker(loaded, int(detail.row["pred"]), key=f"{key}_target")
    config = detail.attribution
    result = attribution_maps(loaded, detail.x[None], config, target) if config is not None else None
    if result is None:
        return
    tile = map_with_colorbar(loaded, detail.x[None], result)
    value = READOUTS[detail.readout].compute(result.maps[0])
    st.image(
        tile,
        caption=f"{method_spec(config.method).label} for {class_text(loaded, detail.reference, int(result.target[0]))}"
        f" · {READOUTS[detail.readout].label} {value:.3f}",
        width="stretch",
    )
    st.download_button(
        "Map (PNG)",
        lambda: to_png_bytes(tile),
        file_name=f"{detail.name}_{config.method}.png",
        mime="image/png",
        key=f"{key}_map_png",
        icon=":material/download:",
    )


def _verdict(loaded: LoadedModel, detail: ImageDetail, verdicts: pd.DataFrame) -> pd.DataFrame:
    """The prediction and how many methods flag the image; returns the verdict columns to show."""
    row = detail.row
    names = run_names(loaded, detail.reference)
    pred = escape_markdown(names.pred_text(int(row["pred"])))
    st.markdown(f"Prediction **{pred}**  \nconfidence **{100 * row['confidence']:.1f}%**")
    label, title = int(row.get("label", -1)), row.get(tables.SET_COLUMN)
    if label >= 0 and title is not None:
        verdict = "right" if int(row["pred"]) == label else "wrong"
        st.markdown(
            f"True class **{escape_markdown(names.true_text(str(title), label))}**: the prediction is **{verdict}**"
        )
    flagged = verdicts["flagged"].dropna()
    if len(flagged):
        st.markdown(
            f"**Flagged as OOD by {int(flagged.sum())} of {len(flagged)} methods** "
            f"(each at the threshold that keeps {detail.tpr:.0%} of the ID set)"
        )
        return verdicts.drop(columns=["method"])
    st.caption("No ID reference yet (computing…): scores are shown without percentiles or thresholds.")
    return verdicts[["label", "score"]]


def _positions(detail: ImageDetail, methods: list[str], thresholds: Mapping[str, float], key: str) -> None:
    """The image's score of each picked method on the ID scores' distribution."""
    choose("inspect_positions", methods, ["gaia_a", "gaia_z", "msp"])
    picked = st.multiselect("Place on the ID distribution", methods, key="inspect_positions", format_func=method_label)
    id_table = detail.reference.result.id_scores.table
    for column, method in zip(st.columns(3) * (len(picked) // 3 + 1), picked):
        column.plotly_chart(
            charts.score_position_figure(
                float(detail.row[method]),
                id_table[method].to_numpy(),
                thresholds[method],
                method_label(method),
                tpr=detail.tpr,
            ),
            key=f"{key}_pos_{method}",
        )


def _profiles(detail: ImageDetail, key: str) -> None:
    """GAIA-A's and GAIA-Z's per-layer profile of the image against the ID mean."""
    id_channels = detail.reference.result.id_scores.channels
    for column, method in zip(st.columns(2), GAIA_METHODS):
        if method not in detail.channels or method not in id_channels:
            continue
        id_profile = charts.id_reference_profile(charts.layer_means(id_channels[method]))
        title, y_label = PROFILE_LABELS[method]
        figure = attempt(
            "Profile",
            charts.layer_profile_figure,
            channel_values.image_profile(detail.channels[method]),
            *id_profile,
            title=title,
            y_label=y_label,
        )
        if figure is not None:
            column.plotly_chart(figure, key=f"{key}_profile_{method}")


def image_detail(loaded: LoadedModel, detail: ImageDetail, key: str) -> None:
    """Everything about one image: the picture and its attribution map, every score placed on
    the ID reference, and its per-layer profile against the ID mean.

    Args:
        key: the detail's own key (one per detail on a page).
    """
    row, reference = detail.row, detail.reference
    methods = [m for m in ALL_METHODS if m in row]
    id_table = None if reference is None else reference.result.id_scores.table
    thresholds = None if id_table is None else ood_tables.thresholds_at_tpr(id_table, methods, detail.tpr)
    verdicts = tables.score_verdicts({m: float(row[m]) for m in methods}, id_table, thresholds)
    # Picture, map and verdict side by side, the table under them at full width: beside them its
    # threshold and flag columns were cut off at a projector's 1024 px.
    picture_column, map_column, verdict_column = st.columns([1, 1, 1.3])
    with picture_column:
        picture = images.display_image(detail.x, loaded.spec.mean, loaded.spec.std, 192)
        st.image(picture, caption=escape_markdown(detail.name), width="stretch")
        if row.get("path"):
            st.caption(f"File: {escape_markdown(str(row['path']))}")
    with map_column:
        _map(loaded, detail, key)
    with verdict_column:
        shown = _verdict(loaded, detail, verdicts)
        if detail.send_to and sendable(row, reference):
            send_buttons(reference, row, key, detail.send_to)
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
            "threshold": st.column_config.NumberColumn(f"{detail.tpr:.0%} TPR threshold", format=SCORE_FORMAT),
            "flagged": st.column_config.CheckboxColumn("flagged as OOD"),
        },
    )
    if reference is None:
        return
    _positions(detail, methods, thresholds, key)
    _profiles(detail, key)
