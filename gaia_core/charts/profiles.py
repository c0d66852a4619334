"""Per-layer views: one image's layer profile against ID, and per-layer distributions per set."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go

from gaia_core.charts.style import (
    ID_COLOR,
    TICK_FONT,
    ChartError,
    as_values,
    base_layout,
    figure,
    resolve_colors,
    set_label,
    wrap_title,
)

_SAMPLE_COLOR = "#D55E00"


def layer_means(channels: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per-sample average over channels, per layer.

    Args:
        channels: layer -> (N, C_layer) per-channel values (e.g. GAIA-Z's r_c).

    Returns:
        layer -> (N,) float64 means over channels.
    """
    means = {}
    for layer, values in channels.items():
        array = np.asarray(values, dtype=np.float64)
        if array.ndim != 2:
            raise ChartError(f"channels[{layer!r}] has shape {array.shape}; expected (N, C)")
        means[layer] = array.mean(axis=1)
    return means


def id_reference_profile(
    per_sample: Mapping[str, np.ndarray], low: float = 5.0, high: float = 95.0
) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    """ID mean and percentile band per layer, the reference of `layer_profile_figure`.

    Args:
        per_sample: layer -> (N_id,) one value per ID image (e.g. from `layer_means`).
        low, high: percentiles of the band.

    Returns:
        (layer -> mean, layer -> (low percentile, high percentile)).
    """
    mean, band = {}, {}
    for layer, values in per_sample.items():
        array = as_values(values, f"per_sample[{layer!r}]")
        mean[layer] = float(array.mean())
        band[layer] = (float(np.percentile(array, low)), float(np.percentile(array, high)))
    return mean, band


def layer_profile_figure(
    profile: Mapping[str, float],
    id_mean: Mapping[str, float],
    id_band: Mapping[str, tuple[float, float]] | None,
    title: str,
    y_label: str,
    band_label: str = "ID 5–95th percentile",
    sample_label: str = "this image",
    height: int = 420,
) -> go.Figure:
    """One image's per-layer value against the ID mean and band (legend under the plot).

    Args:
        profile: layer -> the image's value (layers in network order; this sets the x axis).
        id_mean: layer -> mean over ID images; must hold every layer of ``profile``.
        id_band: optional layer -> (low, high), drawn as a shaded band.
        title: figure title.
        y_label: what the value is, e.g. "zero ratio of the gradient (mean over channels)".
        band_label, sample_label: legend labels.
        height: figure height in pixels.

    Traces: [band lower edge, band (filled to the lower edge)] when ``id_band`` is given,
    then "ID mean", then the sample.
    """
    layers = list(profile)
    if not layers:
        raise ChartError("the profile has no layers")
    references = [id_mean] if id_band is None else [id_mean, id_band]
    missing = [layer for layer in layers if any(layer not in ref for ref in references)]
    if missing:
        raise ChartError(f"the ID reference lacks layers {missing}; compute it with the same layers")
    traces = []
    if id_band is not None:
        lows = [float(id_band[layer][0]) for layer in layers]
        highs = [float(id_band[layer][1]) for layer in layers]
        traces.append(
            go.Scatter(
                x=layers,
                y=lows,
                mode="lines",
                line={"width": 0, "color": ID_COLOR},
                showlegend=False,
                hoverinfo="skip",
                name=f"{band_label} (low)",
            )
        )
        traces.append(
            go.Scatter(
                x=layers,
                y=highs,
                mode="lines",
                fill="tonexty",
                line={"width": 0, "color": ID_COLOR},
                fillcolor="rgba(0, 114, 178, 0.18)",
                name=band_label,
                customdata=np.column_stack([lows, highs]),
                hovertemplate="%{x}<br>ID band %{customdata[0]:.4g} – %{customdata[1]:.4g}<extra></extra>",
            )
        )
    traces.append(
        go.Scatter(
            x=layers,
            y=[float(id_mean[layer]) for layer in layers],
            mode="lines+markers",
            name="ID mean",
            line={"color": ID_COLOR, "dash": "dash"},
            hovertemplate="%{x}<br>ID mean %{y:.4g}<extra></extra>",
        )
    )
    traces.append(
        go.Scatter(
            x=layers,
            y=[float(profile[layer]) for layer in layers],
            mode="lines+markers",
            name=sample_label,
            line={"color": _SAMPLE_COLOR, "width": 2.5},
            hovertemplate=f"%{{x}}<br>{sample_label} %{{y:.4g}}<extra></extra>",
        )
    )
    return figure(
        traces,
        wrap_title(title),  # drawn two to a row
        height,
        xaxis={"title": {"text": "layer (network order)"}, "type": "category", "tickangle": -45, "tickfont": TICK_FONT},
        yaxis={"title": {"text": y_label}, "tickfont": TICK_FONT},
    )


def layer_distribution_figure(
    values: Mapping[str, Mapping[str, np.ndarray]],
    kind: str = "violin",
    y_label: str = "value",
    id_name: str | None = None,
    title: str = "Per-layer distribution, ID vs OOD",
    colors: Mapping[str, str] | None = None,
    height: int = 440,
) -> go.Figure:
    """Per layer, one violin or box per set, grouped side by side.

    Args:
        values: set name -> layer -> 1-D values (per channel, or per image and channel,
            flattened). Layers are shown in the first set's order, then any others.
        kind: "violin" or "box".
        y_label: what the values are.
        id_name: the in-distribution set.
        title: figure title.
        colors: optional set name -> colour.
        height: figure height in pixels.

    Traces: one per set (its values for all layers), in ``values`` order.
    """
    if kind not in ("violin", "box"):
        raise ChartError(f"kind must be 'violin' or 'box', got {kind!r}")
    if not values:
        raise ChartError("no sets to draw; pass set name -> layer -> values")
    layers: list[str] = []
    for per_layer in values.values():
        layers.extend(layer for layer in per_layer if layer not in layers)
    palette = resolve_colors(values, id_name, colors)
    fig = go.Figure()
    for name, per_layer in values.items():
        xs, ys = [], []
        for layer in layers:
            if layer in per_layer:
                array = as_values(per_layer[layer], f"values[{name!r}][{layer!r}]", allow_empty=True)
                xs.extend([layer] * array.size)
                ys.append(array)
        y = np.concatenate(ys) if ys else np.empty(0)
        common = dict(
            x=xs,
            y=y,
            name=set_label(name, id_name),
            legendgroup=name,
            marker={"color": palette[name]},
            line={"color": palette[name]},
        )
        if kind == "violin":
            fig.add_trace(
                go.Violin(
                    **common,
                    box={"visible": True},
                    meanline={"visible": True},
                    points=False,
                    spanmode="hard",
                    scalemode="width",
                )
            )
        else:
            fig.add_trace(go.Box(**common, boxpoints="outliers", boxmean=True))
    fig = base_layout(fig, title, height, xaxis_title="layer (network order)", yaxis_title=y_label)
    fig.update_layout(**({"violinmode": "group"} if kind == "violin" else {"boxmode": "group"}))
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=layers, tickangle=-45, tickfont=TICK_FONT)
    fig.update_yaxes(tickfont=TICK_FONT)
    return fig
