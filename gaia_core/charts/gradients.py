"""How GAIA works, on one image: gradient maps with their zeros, per-channel statistics and
how they aggregate into a score."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from gaia_core.charts.style import (
    DIVERGING_SCALE,
    LABEL_MARGIN,
    ZERO_COLOR,
    ChartError,
    as_values,
    base_layout,
    horizontal_line,
    inside_legend,
    margin_label,
    resolve_colors,
    wrap_title,
)
from gaia_core.scores import channel_quantity

_BAR_COLOR = "#0072B2"


def _gradient_maps(grad) -> np.ndarray:
    array = np.asarray(grad, dtype=np.float64)
    if array.ndim != 3 or 0 in array.shape:
        raise ChartError(f"grad has shape {array.shape}; expected one image's (C, H, W) gradient")
    if not np.isfinite(array).all():
        raise ChartError("grad contains NaN or infinite values")
    return array


def zero_ratios(grad: np.ndarray) -> np.ndarray:
    """Fraction of exactly-zero entries per channel.

    Args:
        grad: (C, H, W) gradient of one image at one layer.

    Returns:
        (C,) float64 in [0, 1]; GAIA-Z's non-zero ratio r_c is 1 minus it.
    """
    return (_gradient_maps(grad) == 0).mean(axis=(1, 2))


def gradient_grid_figure(
    grad: np.ndarray,
    max_channels: int = 64,
    title: str = "Gradient per channel",
    channels: Sequence[int] | None = None,
    ncols: int | None = None,
    height: int | None = None,
) -> go.Figure:
    """Channel maps of one gradient tiled into a grid; exact zeros in flat grey.

    Non-zero values use a diverging scale centred at 0 and shared by all tiles (so channels
    compare); the tiles sit one blank cell apart, in row-major channel order.

    Args:
        grad: (C, H, W) gradient of one image at one layer.
        max_channels: at most this many channels are drawn (the first ones unless ``channels``).
        title: figure title; the count of drawn channels is appended.
        channels: optional channel indices to draw, in order.
        ncols: tiles per row; default ceil(sqrt(n)).
        height: pixels; by default from the grid's aspect ratio.

    Traces: [the gradient heat map, the zero mask ("exactly zero")]. Each cell's
    ``customdata`` is [channel, zero ratio in %] (NaN between tiles), shown on hover.
    """
    maps = _gradient_maps(grad)
    n_channels, h, w = maps.shape
    chosen = range(n_channels) if channels is None else [int(c) for c in channels]
    chosen = list(chosen)[: int(max_channels)]
    if not chosen or any(not 0 <= c < n_channels for c in chosen):
        raise ChartError(f"channels must be at least one index in [0, {n_channels}); got {channels}")
    ratios = zero_ratios(maps)
    cols = int(ncols) if ncols else math.ceil(math.sqrt(len(chosen)))
    rows = math.ceil(len(chosen) / cols)
    gap = 1
    tiled = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap), np.nan)
    info = np.full((*tiled.shape, 2), np.nan, dtype=np.float32)  # channel, zero ratio in %
    for k, channel in enumerate(chosen):
        top, left = (k // cols) * (h + gap), (k % cols) * (w + gap)
        tiled[top : top + h, left : left + w] = maps[channel]
        info[top : top + h, left : left + w, 0] = channel
        info[top : top + h, left : left + w, 1] = 100 * ratios[channel]
    limit = float(np.abs(maps[chosen]).max()) or 1.0
    zero_mask = np.where(tiled == 0, 1.0, np.nan).astype(np.float32)
    # float32 halves what the browser receives; zeros are taken from the exact values above.
    tiled = tiled.astype(np.float32)
    fig = go.Figure(
        [
            go.Heatmap(
                z=tiled,
                customdata=info,
                colorscale=DIVERGING_SCALE,
                zmid=0.0,
                zmin=-limit,
                zmax=limit,
                colorbar={"title": {"text": "gradient<br>(grey = 0)"}},
                hoverongaps=False,
                name="gradient",
                hovertemplate=(
                    "channel %{customdata[0]} (zero ratio %{customdata[1]:.1f}%)<br>gradient %{z:.3g}<extra></extra>"
                ),
            ),
            go.Heatmap(
                z=zero_mask,
                colorscale=[[0.0, ZERO_COLOR], [1.0, ZERO_COLOR]],
                showscale=False,
                hoverinfo="skip",
                name="exactly zero",
            ),
        ]
    )
    shown = f"{len(chosen)} of {n_channels}" if len(chosen) < n_channels else f"{n_channels}"
    fig = base_layout(
        fig,
        f"{title} ({shown} channels)",
        height or int(np.clip(120 + 640 * tiled.shape[0] / tiled.shape[1], 260, 900)),
    )
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x", constrain="domain")
    return fig


def _channel_bars(values: np.ndarray, hover: list[str], name: str) -> go.Bar:
    return go.Bar(
        x=np.arange(values.size),
        y=values,
        name=name,
        marker={"color": _BAR_COLOR, "line": {"width": 0}},
        hovertext=hover,
        hovertemplate="%{hovertext}<extra></extra>",
    )


def _fraction_bar(values: np.ndarray, hover: list[str], name: str, title: str, height: int, y_title: str, mean_text):
    fig = go.Figure(_channel_bars(values, hover, name))
    return base_layout(
        fig,
        wrap_title(title),
        height,
        xaxis_title="channel",
        yaxis={"title": {"text": y_title}, "range": [0, 1]},
        showlegend=False,
        bargap=0.05,
        **_mean_line(float(values.mean()), mean_text(float(values.mean()))),
    )


def _fractions(values, what: str) -> np.ndarray:
    array = as_values(values, what)
    if ((array < 0) | (array > 1)).any():
        raise ChartError(f"{what.replace('_', ' ')} must lie in [0, 1]")
    return array


def zero_ratio_bar(ratios: np.ndarray, title: str = "Zero ratio per channel", height: int = 300) -> go.Figure:
    """Fraction of exactly-zero gradient entries per channel, with their mean.

    Args:
        ratios: (C,) zero ratios in [0, 1] (e.g. `zero_ratios`). GAIA-Z uses r_c = 1 - ratio:
            fewer zeros (OOD) mean a higher score.
        title: figure title.
        height: figure height in pixels.

    Traces: [the bars]; the mean is a dashed horizontal line (a shape) labelled beside the plot.
    """
    values = _fractions(ratios, "zero ratios")
    r_c = channel_quantity("gaia_z")
    hover = [f"channel {c}<br>{100 * v:.1f}% zeros<br>{r_c} = {1 - v:.3f}" for c, v in enumerate(values)]
    fig = _fraction_bar(
        values, hover, "zero ratio", title, height, "zero ratio (fraction of exact zeros)", lambda m: f"{100 * m:.1f}%"
    )
    fig.update_yaxes(tickformat=".0%")
    return fig


def nonzero_ratio_bar(ratios: np.ndarray, title: str | None = None, height: int = 300) -> go.Figure:
    """GAIA-Z's r_c per channel, the fraction of non-zero gradient entries, with their mean: the
    quantity GAIA-Z squares and averages, named as in its formula.

    Args:
        ratios: (C,) r_c in [0, 1] (`gaia_core.scores.walkthrough.LayerWalkthrough.nonzero_fraction`).
        title: figure title; default "r_c per channel (non-zero ratio)".
        height: figure height in pixels.

    Traces: [the bars]; the mean (same 2 decimals as the walk-through's sentences) is a dashed
    horizontal line labelled beside the plot.
    """
    values = _fractions(ratios, "r_c")
    r_c = channel_quantity("gaia_z")
    hover = [f"channel {c}<br>{r_c} = {v:.3f}<br>({100 * (1 - v):.1f}% zeros)" for c, v in enumerate(values)]
    return _fraction_bar(
        values,
        hover,
        r_c,
        title or f"{r_c} per channel (non-zero ratio)",
        height,
        f"{r_c} (fraction of non-zero entries)",
        lambda m: f"{r_c} {m:.2f}",
    )


def channel_average_bar(
    values: np.ndarray,
    title: str = "Channel average per channel",
    y_label: str = channel_quantity("gaia_a"),
    height: int = 300,
) -> go.Figure:
    """GAIA-A's per-channel average (u_c / o) for one image, with their mean.

    Args:
        values: (C,) per-channel values.
        title: figure title.
        y_label: what the values are.
        height: figure height in pixels.

    Traces: [the bars]; the mean is a dashed horizontal line (a shape) labelled beside the plot.
    """
    array = as_values(values, "values")
    hover = [f"channel {c}<br>{y_label} = {v:.4g}<br>squared {v * v:.4g}" for c, v in enumerate(array)]
    fig = go.Figure(_channel_bars(array, hover, y_label))
    return base_layout(
        fig,
        wrap_title(title),
        height,
        xaxis_title="channel",
        yaxis_title=y_label,
        showlegend=False,
        bargap=0.05,
        **_mean_line(float(array.mean()), f"{array.mean():.4g}"),
    )


def _mean_line(mean: float, text: str) -> dict:
    """Layout of a dashed mean line across the bars, labelled in the right margin (under the bars'
    tops a label cannot be read)."""
    return {
        "shapes": [horizontal_line(mean, "#222222", dash="dash", width=2)],
        "annotations": [margin_label(mean, f"mean<br>{text}")],
        "margin": {"l": 60, "r": LABEL_MARGIN, "t": 60, "b": 50},
    }


def aggregation_figure(
    values: Mapping[str, np.ndarray],
    value_label: str = channel_quantity("gaia_z"),
    score_label: str = "GAIA-Z",
    id_name: str | None = None,
    title: str | None = None,
    colors: Mapping[str, str] | None = None,
    height: int = 380,
) -> go.Figure:
    """How per-channel values become one score: value² per channel, sorted, and its mean.

    GAIA's scores are mean over channels of a squared per-channel value (GAIA-Z: r_c²;
    GAIA-A: (u_c / o)²), i.e. the area under each sorted curve divided by the channel count.

    Args:
        values: image label (e.g. "ID: digits #3") -> (C,) per-channel values, all layers'
            channels concatenated, as the score averages them.
        value_label: the per-channel quantity, e.g. "r_c" or "u_c / o".
        score_label: the score's name, e.g. "GAIA-Z".
        id_name: the label of the ID image (drawn in the ID colour).
        title: figure title; default explains the aggregation.
        colors: optional image label -> colour.
        height: figure height in pixels.

    Traces: per image, its sorted squared values then its mean line ("... score = mean").
    """
    if not values:
        raise ChartError("no images to compare; pass image label -> per-channel values")
    palette = resolve_colors(values, id_name, colors)
    fig = go.Figure()
    for name, raw in values.items():
        squared = np.sort(as_values(raw, f"values[{name!r}]") ** 2)[::-1]
        score = float(squared.mean())
        rank = np.arange(1, squared.size + 1)
        fig.add_trace(
            go.Scatter(
                x=rank,
                y=squared,
                mode="lines",
                fill="tozeroy",
                name=f"{name}: ({value_label})² sorted",
                legendgroup=name,
                line={"color": palette[name], "width": 2, "shape": "hv"},
                opacity=0.6,
                hovertemplate=f"{name}<br>rank %{{x}}<br>({value_label})² = %{{y:.4g}}<extra></extra>",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=[1, squared.size],
                y=[score, score],
                mode="lines",
                name=f"{name}: {score_label} = mean = {score:.4g}",
                legendgroup=name,
                line={"color": palette[name], "dash": "dash", "width": 2},
                hovertemplate=f"{name}<br>{score_label} = {score:.4g}<extra></extra>",
            )
        )
    fig = base_layout(
        fig,
        title or f"How ({value_label})² per channel average into {score_label}",
        height,
        xaxis_title="channel, sorted from largest to smallest",
        yaxis_title=f"({value_label})²",
    )
    # Inside the plot on purpose: the sorted curves fall to the right, leaving its top right empty
    # (its long names would take several rows under a narrow plot).
    fig.update_layout(legend=inside_legend("top right"))
    return fig
