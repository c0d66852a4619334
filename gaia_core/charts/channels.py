"""Channel abnormality: which channels of which layers separate ID from OOD.

Channel values are GAIA's per-channel quantities, ``channels[method][layer] -> (N, C)``:
GAIA-Z's non-zero ratio r_c or GAIA-A's u_c / o. Separation is measured per channel by the
AUROC of the channel value alone, OOD as the positive class (a Mann-Whitney U statistic,
ties counted half): 0.5 = no separation, 1 = every OOD image higher than every ID image,
0 = every OOD image lower.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from scipy.stats import rankdata

from gaia_core.charts.style import (
    DIVERGING_SCALE,
    TICK_FONT,
    ChartError,
    as_values,
    base_layout,
    resolve_colors,
    set_label,
)

RANKING_COLUMNS = [
    "layer",
    "channel",
    "id_mean",
    "ood_mean",
    "difference",
    "auroc",
    "separation",
    "direction",
]


def _matrix(values, what: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] == 0:
        raise ChartError(f"{what} has shape {array.shape}; expected (N, C) with N >= 1")
    if not np.isfinite(array).all():
        raise ChartError(f"{what} contains NaN or infinite values")
    return array


def _paired_layers(id_values: Mapping, ood_values: Mapping) -> list[str]:
    layers = [layer for layer in id_values if layer in ood_values]
    if not layers:
        raise ChartError("ID and OOD values share no layer; compute both with the same layers")
    return layers


def channel_difference(
    id_values: Mapping[str, np.ndarray], ood_values: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Per channel, mean over OOD images minus mean over ID images.

    Args:
        id_values: layer -> (N_id, C_layer).
        ood_values: layer -> (N_ood, C_layer); layers missing on either side are skipped.

    Returns:
        layer -> (C_layer,) float64 differences, in ``id_values``' layer order.
    """
    difference = {}
    for layer in _paired_layers(id_values, ood_values):
        id_m = _matrix(id_values[layer], f"id_values[{layer!r}]")
        ood_m = _matrix(ood_values[layer], f"ood_values[{layer!r}]")
        if id_m.shape[1] != ood_m.shape[1]:
            raise ChartError(f"layer {layer!r}: ID has {id_m.shape[1]} channels, OOD {ood_m.shape[1]}")
        difference[layer] = ood_m.mean(axis=0) - id_m.mean(axis=0)
    return difference


def pad_layers(per_layer: Mapping[str, np.ndarray]) -> tuple[list[str], np.ndarray]:
    """Stack ragged per-layer channel vectors into one matrix, padding with NaN.

    Args:
        per_layer: layer -> (C_layer,) values.

    Returns:
        (layer names, (L, max C_layer) float64 matrix; row i is layer i, NaN past its channels).
    """
    layers = list(per_layer)
    if not layers:
        raise ChartError("no layers to stack")
    rows = [np.asarray(per_layer[layer], dtype=np.float64).ravel() for layer in layers]
    matrix = np.full((len(rows), max(row.size for row in rows)), np.nan)
    for i, row in enumerate(rows):
        matrix[i, : row.size] = row
    return layers, matrix


def channel_heatmap(
    diff: Mapping[str, np.ndarray],
    title: str = "OOD mean − ID mean per channel",
    value_label: str = "OOD − ID",
    height: int | None = None,
) -> go.Figure:
    """Layers × channels heat map of a signed ID-vs-OOD difference, centred at 0.

    Args:
        diff: layer -> (C_layer,) differences (e.g. `channel_difference`); layers with fewer
            channels are padded with NaN (drawn blank).
        title: figure title.
        value_label: colour-bar title and hover name of the value.
        height: pixels; by default grows with the number of layers.
    """
    layers, matrix = pad_layers(diff)
    finite = matrix[np.isfinite(matrix)]
    limit = float(np.abs(finite).max()) if finite.size else 1.0
    limit = limit if limit > 0 else 1.0
    fig = go.Figure(
        go.Heatmap(
            z=matrix,
            x=np.arange(matrix.shape[1]),
            y=layers,
            colorscale=DIVERGING_SCALE,
            zmid=0.0,
            zmin=-limit,
            zmax=limit,
            colorbar={"title": {"text": value_label}, "tickfont": TICK_FONT},
            hoverongaps=False,
            hovertemplate=f"%{{y}} · channel %{{x}}<br>{value_label} %{{z:.4g}}<extra></extra>",
        )
    )
    fig = base_layout(
        fig,
        title,
        height or max(260, 90 + 22 * len(layers)),
        xaxis_title="channel index",
        yaxis_title="layer (network order)",
    )
    fig.update_yaxes(type="category", autorange="reversed", tickfont=TICK_FONT)
    fig.update_xaxes(tickfont=TICK_FONT)
    return fig


def rank_channels(id_values: Mapping[str, np.ndarray], ood_values: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Every channel of every shared layer, ranked by how well it alone separates ID from OOD.

    Args:
        id_values: layer -> (N_id, C_layer) channel values of ID images.
        ood_values: layer -> (N_ood, C_layer) channel values of OOD images.

    Returns:
        DataFrame with columns `RANKING_COLUMNS`: layer, channel, id_mean, ood_mean,
        difference (ood_mean - id_mean), auroc (OOD positive, channel value as score),
        separation (|auroc - 0.5|, the sort key, descending; ties by |difference|, then
        layer/channel order),
        direction ("higher in OOD" / "lower in OOD" / "no difference"). Index 0..n-1.
    """
    frames = []
    for layer in _paired_layers(id_values, ood_values):
        id_m = _matrix(id_values[layer], f"id_values[{layer!r}]")
        ood_m = _matrix(ood_values[layer], f"ood_values[{layer!r}]")
        if id_m.shape[1] != ood_m.shape[1]:
            raise ChartError(f"layer {layer!r}: ID has {id_m.shape[1]} channels, OOD {ood_m.shape[1]}")
        n_id, n_ood = id_m.shape[0], ood_m.shape[0]
        ranks = rankdata(np.vstack([id_m, ood_m]), axis=0)  # average ranks: ties count half
        u_ood = ranks[n_id:].sum(axis=0) - n_ood * (n_ood + 1) / 2
        auroc = u_ood / (n_id * n_ood)
        frames.append(
            pd.DataFrame(
                {
                    "layer": layer,
                    "channel": np.arange(id_m.shape[1]),
                    "id_mean": id_m.mean(axis=0),
                    "ood_mean": ood_m.mean(axis=0),
                    "auroc": auroc,
                }
            )
        )
    ranking = pd.concat(frames, ignore_index=True)
    ranking["difference"] = ranking["ood_mean"] - ranking["id_mean"]
    ranking["separation"] = (ranking["auroc"] - 0.5).abs()
    ranking["direction"] = np.select(
        [ranking["auroc"] > 0.5, ranking["auroc"] < 0.5],
        ["higher in OOD", "lower in OOD"],
        "no difference",
    )
    # Many channels can separate perfectly (AUROC 0 or 1); the larger mean shift ranks first.
    ranking["shift"] = ranking["difference"].abs()
    ranking = ranking.sort_values(["separation", "shift"], ascending=False, kind="stable")
    return ranking[RANKING_COLUMNS].reset_index(drop=True)


def channel_ranking_figure(
    ranking: pd.DataFrame,
    top_k: int = 20,
    title: str = "Channels that separate ID from OOD most",
    height: int | None = None,
) -> go.Figure:
    """Horizontal bars of the ``top_k`` first rows of `rank_channels`, best at the top.

    Bars show auroc − 0.5 (a fraction; the axis reads it in percentage points, "+20%" = AUROC 70%):
    right = the channel is higher in OOD, left = lower in OOD.

    Args:
        ranking: output of `rank_channels` (sorted; not modified).
        top_k: rows to show.
        title: figure title.
        height: pixels; by default grows with ``top_k``.

    Traces: "higher in OOD" then "lower in OOD", each only if it has rows.
    """
    needed = ("layer", "channel", "id_mean", "ood_mean", "auroc")
    missing = [c for c in needed if c not in ranking.columns]
    if missing:
        raise ChartError(f"ranking lacks columns {missing}; build it with rank_channels")
    top = ranking.head(int(top_k))
    labels = [f"{layer} · c{channel}" for layer, channel in zip(top["layer"], top["channel"])]
    fig = go.Figure()
    for direction, color, mask in (
        ("higher in OOD", "#D55E00", top["auroc"].to_numpy() >= 0.5),
        ("lower in OOD", "#0072B2", top["auroc"].to_numpy() < 0.5),
    ):
        if not mask.any():
            continue
        rows = top[mask]
        fig.add_trace(
            go.Bar(
                x=rows["auroc"].to_numpy() - 0.5,
                y=[label for label, keep in zip(labels, mask) if keep],
                orientation="h",
                name=direction,
                marker={"color": color},
                customdata=[
                    [str(layer), int(channel), float(id_mean), float(ood_mean), float(auroc)]
                    for layer, channel, id_mean, ood_mean, auroc in zip(
                        rows["layer"], rows["channel"], rows["id_mean"], rows["ood_mean"], rows["auroc"]
                    )
                ],
                hovertemplate=(
                    "<b>%{customdata[0]} channel %{customdata[1]}</b><br>ID mean %{customdata[2]:.4g}"
                    "<br>OOD mean %{customdata[3]:.4g}<br>AUROC %{customdata[4]:.1%}<extra></extra>"
                ),
            )
        )
    fig = base_layout(
        fig,
        title,
        height or max(260, 90 + 24 * len(top)),
        xaxis_title="channel AUROC − 50% (OOD positive; 0 = no separation)",
        yaxis_title="",
    )
    fig.update_yaxes(
        type="category", categoryorder="array", categoryarray=labels, autorange="reversed", tickfont=TICK_FONT
    )
    fig.update_xaxes(range=[-0.5, 0.5], zeroline=True, tickformat="+.0%", tickfont=TICK_FONT)
    return fig


def channel_values_figure(
    values: Mapping[str, np.ndarray],
    channel_label: str,
    sample_ids: Mapping[str, Sequence[str]] | None = None,
    id_name: str | None = None,
    colors: Mapping[str, str] | None = None,
    height: int = 380,
) -> go.Figure:
    """One channel's value per image, a box with every point per set.

    Args:
        values: set name -> (N_set,) the channel's value per image, in table row order.
        channel_label: e.g. "layer3.1.bn2 · channel 17 · r_c".
        sample_ids: optional set name -> (N_set,) ids shown on hover.
        id_name: the in-distribution set.
        colors: optional set name -> colour.
        height: figure height in pixels.

    Traces: one box per set, in ``values`` order; each point's ``customdata`` is
    ``[row index, sample id]`` so a selected point maps back to its row. The figure opens in box
    selection (a drag selects the points inside the box, it does not zoom).
    """
    if not values:
        raise ChartError("no sets to draw; pass set name -> values")
    palette = resolve_colors(values, id_name, colors)
    fig = go.Figure()
    for name, raw in values.items():
        array = as_values(raw, f"values[{name!r}]")
        ids = list(sample_ids[name]) if sample_ids is not None and name in sample_ids else None
        if ids is not None and len(ids) != array.size:
            raise ChartError(f"sample_ids[{name!r}] has {len(ids)} ids for {array.size} values")
        ids = ids if ids is not None else [f"row {i}" for i in range(array.size)]
        fig.add_trace(
            go.Box(
                y=array,
                name=set_label(name, id_name),
                marker={"color": palette[name], "size": 5},
                line={"color": palette[name]},
                boxpoints="all",
                jitter=0.4,
                pointpos=0,
                customdata=[[row, str(sample_id)] for row, sample_id in enumerate(ids)],
                hovertemplate="%{customdata[1]}<br>value %{y:.4g}<extra>%{fullData.name}</extra>",
            )
        )
    fig = base_layout(
        fig,
        f"{channel_label}: value per image",
        height,
        xaxis={"title": {"text": "set"}, "tickfont": TICK_FONT},
        yaxis={"title": {"text": channel_label}, "tickfont": TICK_FONT},
    )
    # A drag selects the points in a box (Streamlit keeps a figure's own dragmode; with a box or
    # lasso tool, Streamlit 1.67 sets clickmode "event", so a click selects only in Pan or Zoom).
    fig.update_layout(showlegend=False, clickmode="event+select", dragmode="select")
    return fig
