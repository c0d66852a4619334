"""One image's percentile among the ID images, layer by layer: which layers made it abnormal."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from gaia_core.charts.style import (
    ID_COLOR,
    THRESHOLD_COLOR,
    TICK_FONT,
    ChartError,
    figure,
    horizontal_line,
    wrap_title,
)

_ABNORMAL_COLOR = "#D55E00"
_NEEDED = {"layer", "position", "value", "id_low", "id_median", "id_high", "percentile"}


def layer_percentile_figure(
    profile: pd.DataFrame, title: str, line: float = 95.0, value_label: str = "mean of squares", height: int = 340
) -> go.Figure:
    """One bar per layer in network order: the image's percentile among the ID images at that layer.

    Args:
        profile: `gaia_core.app_support.layer_profile.layer_percentiles` output (columns layer,
            position, value, id_low, id_median, id_high, percentile in [0, 100]).
        title: figure title.
        line: a percentile drawn as a dashed line (unlabelled: say so beside the chart); bars
            above it are coloured as abnormal.
        value_label: what the per-layer value is (shown on hover).
        height: figure height in pixels.

    Traces: one bar trace (x = layers in network order, y = percentile).
    """
    if profile.empty or not set(profile.columns) >= _NEEDED:
        raise ChartError(f"the layer profile needs columns {sorted(_NEEDED)} and at least one row")
    rows = profile.sort_values("position", kind="stable")
    colors = [_ABNORMAL_COLOR if p > line else ID_COLOR for p in rows["percentile"]]
    bar = go.Bar(
        x=list(rows["layer"]),
        y=list(rows["percentile"]),
        marker={"color": colors},
        customdata=rows[["value", "id_low", "id_median", "id_high"]].to_numpy(),
        name="this image",
        hovertemplate=(
            "%{x}<br>ID percentile %{y:.1f}<br>"
            f"{value_label}: %{{customdata[0]:.4g}}<br>"
            "ID median %{customdata[2]:.4g} (band %{customdata[1]:.4g} – %{customdata[3]:.4g})<extra></extra>"
        ),
    )
    # No text on the line: it would sit on the bars (the caption beside the chart names the line).
    return figure(
        [bar],
        wrap_title(title),  # drawn two to a row
        height,
        shapes=[horizontal_line(line, THRESHOLD_COLOR, dash="dash", width=1)],
        xaxis={
            "title": {"text": "layer (network order)"},
            "type": "category",
            "categoryorder": "array",
            "categoryarray": list(rows["layer"]),
            "tickangle": -45,
            "tickfont": TICK_FONT,
        },
        yaxis={"title": {"text": "percentile among ID images"}, "range": [0, 105], "tickfont": TICK_FONT},
    )
