"""One image's per-layer percentiles among the ID images (GAIA-Z and GAIA-A side by side), shared by
Inspect images and Misflagged samples: which layers made the image abnormal."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import streamlit as st

from app_pages.shell.error_frame import attempt
from gaia_core.app_support.layer_profile import layer_percentiles, most_abnormal_layers
from gaia_core.charts.layer_percentiles import layer_percentile_figure
from gaia_core.scores import GAIA_METHODS, channel_quantity, method_label

VALUE_LABELS = {
    "gaia_z": f"layer mean of {channel_quantity('gaia_z')}²",
    "gaia_a": f"layer mean of ({channel_quantity('gaia_a')})²",
}


def layer_percentile_charts(
    image_channels: Mapping[str, Mapping[str, np.ndarray]],
    id_channels: Mapping[str, Mapping[str, np.ndarray]],
    key: str,
) -> None:
    """Per GAIA method: the image's layer score as a percentile of the ID images', in network order.

    Args:
        image_channels: method -> layer -> (C_layer,) the image's per-channel values.
        id_channels: method -> layer -> (N_id, C_layer) the ID reference's values.
    """
    methods = [m for m in GAIA_METHODS if image_channels.get(m) and id_channels.get(m)]
    if not methods:
        return
    st.markdown("**Which layers make it abnormal**")
    st.caption(
        "Each bar: this image's score restricted to one layer (the layer's mean of squared channel values, "
        "what GAIA averages) as a percentile of the ID images' scores at that layer, layers in network order. "
        "Bars above the dashed line (the 95th percentile) are highlighted: there the image is more abnormal than 95% "
        "of ID images."
    )
    for column, method in zip(st.columns(len(methods)), methods):
        profile = attempt("Per-layer percentiles", layer_percentiles, image_channels[method], id_channels[method])
        if profile is None:
            continue
        column.plotly_chart(
            layer_percentile_figure(
                profile,
                f"{method_label(method)}: percentile among ID images per layer",
                value_label=VALUE_LABELS[method],
            ),
            key=f"{key}_layer_pct_{method}",
        )
        top = most_abnormal_layers(profile, 3)
        column.caption(
            f"{method_label(method)}, most abnormal layers: "
            + "; ".join(f"{row.layer} (percentile {row.percentile:.0f})" for row in top.itertuples())
        )
