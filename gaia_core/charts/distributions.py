"""Score and readout distributions: overlaid histograms, one image on the ID reference.

Histograms are drawn as bars from precomputed, shared bin edges so that a selection in the
app maps back to rows: every bar's ``customdata`` is ``[bin_index, set_name, count]`` and
`rows_in_selection` / `samples_in_bin` recover the rows behind selected bars. Bins follow
`numpy.histogram`: ``[e_i, e_i+1)``, the last bin also holds its right edge.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from gaia_core.charts.style import (
    ID_COLOR,
    SCORE_AXIS_NOTE,
    THRESHOLD_COLOR,
    TICK_FONT,
    ChartError,
    as_values,
    base_layout,
    figure,
    resolve_colors,
    set_label,
    vertical_line,
)
from gaia_core.evaluation.metrics import percentile_of
from gaia_core.scores import method_label as _method_label

_HOVER_IDS = 5  # sample ids listed in a bar's hover text
# The sets listed top-down right of the plot: a legend above it wraps onto the title on narrow pages.
_SIDE_LEGEND = {"orientation": "v", "x": 1.01, "xanchor": "left", "y": 1.0, "yanchor": "top"}


def histogram_edges(scores: Mapping[str, np.ndarray], bins: int = 50) -> np.ndarray:
    """Bin edges shared by all sets, spanning every finite value.

    Args:
        scores: set name -> (N_set,) values; NaN / infinite values are ignored.
        bins: number of equal-width bins.

    Returns:
        (bins + 1,) float64 increasing edges. A single repeated value gets a bin of width 1
        around it.
    """
    if int(bins) < 1:
        raise ChartError(f"bins must be a positive integer, got {bins}")
    arrays = [np.asarray(v, dtype=np.float64).ravel() for v in scores.values()]
    finite = np.concatenate(arrays) if arrays else np.empty(0)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        raise ChartError("no finite values to bin; pass at least one set with scores")
    low, high = float(finite.min()), float(finite.max())
    if low == high:
        low, high = low - 0.5, high + 0.5
    return np.histogram_bin_edges(finite, bins=int(bins), range=(low, high))


def bin_indices(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The bin of each value, as `numpy.histogram` counts it.

    Args:
        values: (N,) values.
        edges: (B + 1,) increasing bin edges.

    Returns:
        (N,) int64 in [0, B), or -1 for values outside the edges and NaN.
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    edges = np.asarray(edges, dtype=np.float64)
    n_bins = edges.size - 1
    if n_bins < 1:
        raise ChartError("edges need at least two values")
    index = np.searchsorted(edges, values, side="right") - 1
    index = np.where(values == edges[-1], n_bins - 1, index)
    inside = (index >= 0) & (index < n_bins) & np.isfinite(values)
    return np.where(inside, index, -1).astype(np.int64)


def samples_in_bin(scores: np.ndarray, edges: np.ndarray, bin_index: int) -> np.ndarray:
    """Row indices of ``scores`` that fall in bin ``bin_index`` of ``edges``.

    Args:
        scores: (N,) values of one set, in table row order.
        edges: (B + 1,) edges, e.g. from `histogram_edges`.
        bin_index: 0 <= bin_index < B, e.g. ``customdata[0]`` of a selected bar.

    Returns:
        (k,) int64 row indices, increasing.
    """
    n_bins = np.asarray(edges).size - 1
    if not 0 <= int(bin_index) < n_bins:
        raise ChartError(f"bin_index {bin_index} is outside the {n_bins} bins")
    return np.flatnonzero(bin_indices(scores, edges) == int(bin_index))


def rows_in_selection(
    points: Iterable[Mapping], scores: Mapping[str, np.ndarray], edges: np.ndarray
) -> dict[str, np.ndarray]:
    """Rows behind the bars selected in a histogram built by this module.

    Args:
        points: selected points as Streamlit returns them (``event.selection.points``):
            dicts with ``customdata`` = ``[bin_index, set_name, ...]``, or, without it,
            ``curve_number`` (trace i is the i-th set of ``scores``) and ``x`` (bar centre).
            Points of other traces (the ID outline, a threshold marker) are ignored.
        scores: the set name -> (N_set,) values of the sets the figure draws, in its order
            (with ``show``, only the sets `shown_sets` returns).
        edges: the figure's bin edges (`histogram_edges` of every set, with the same ``bins``).

    Returns:
        set name -> increasing row indices, only for sets with a selected bar.
    """
    names = list(scores)
    chosen: dict[str, set[int]] = {}
    for point in points:
        custom = point.get("customdata")
        if custom is not None and len(custom) >= 2:
            bin_index, name = int(custom[0]), str(custom[1])
        else:
            curve = point.get("curve_number", point.get("curveNumber"))
            if curve is None or not 0 <= int(curve) < len(names) or point.get("x") is None:
                continue  # a threshold marker or another figure's point
            name = names[int(curve)]
            bin_index = int(bin_indices([float(point["x"])], edges)[0])
        if name in scores and bin_index >= 0:
            chosen.setdefault(name, set()).add(bin_index)
    return {
        name: np.flatnonzero(np.isin(bin_indices(scores[name], edges), sorted(bins))) for name, bins in chosen.items()
    }


def _density(values: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Per-bin counts of one set and its probability density over its finite values.

    Returns:
        (index (N,) bin of each value or -1, counts (B,), density (B,), number of finite values).
    """
    index = bin_indices(values, edges)
    counts = np.bincount(index[index >= 0], minlength=edges.size - 1)
    n_finite = int(np.isfinite(values).sum())
    return index, counts, counts / (max(n_finite, 1) * np.diff(edges)), n_finite


def _density_bar(
    values: np.ndarray,
    edges: np.ndarray,
    name: str,
    label: str,
    color: str,
    value_label: str,
    ids: Sequence[str] | None,
    opacity: float = 0.55,
) -> go.Bar:
    """One set's histogram as bars, normalized to a probability density over its finite values."""
    index, counts, density, n_finite = _density(values, edges)
    n_bins = edges.size - 1
    hover = []
    for b in range(n_bins):
        text = (
            f"<b>{label}</b><br>{value_label} in [{edges[b]:.4g}, {edges[b + 1]:.4g}"
            f"{']' if b == n_bins - 1 else ')'}<br>{counts[b]} of {n_finite} "
            f"({100 * counts[b] / max(n_finite, 1):.1f}%)"
        )
        if ids is not None and counts[b]:
            rows = np.flatnonzero(index == b)
            shown = ", ".join(str(ids[r]) for r in rows[:_HOVER_IDS])
            text += f"<br>{shown}{', …' if rows.size > _HOVER_IDS else ''}"
        hover.append(text)
    return go.Bar(
        x=(edges[:-1] + edges[1:]) / 2,
        y=density,
        width=np.diff(edges),
        name=label,
        legendgroup=name,
        marker={"color": color, "line": {"width": 0}},
        opacity=opacity,
        customdata=[[b, name, int(counts[b])] for b in range(n_bins)],
        hovertext=hover,
        hovertemplate="%{hovertext}<extra></extra>",
    )


def _step_outline(values: np.ndarray, edges: np.ndarray, name: str, color: str) -> go.Scatter:
    """The outline of one set's density histogram as a step line (drawn over the other sets'
    bars so it stays visible; a line is never selected, so selections still map to bars).

    The line runs (e_0, 0) -> (e_0, d_0) -> (e_1, d_0) -> ... -> (e_B, d_B-1) -> (e_B, 0).
    """
    _, _, density, _ = _density(values, edges)
    return go.Scatter(
        x=np.concatenate([edges[:1], edges]),
        y=np.concatenate([[0.0], density, [0.0]]),
        mode="lines",
        line={"color": color, "width": 2.5, "shape": "hv"},
        name=f"{name} outline",
        legendgroup=name,
        showlegend=False,
        hoverinfo="skip",
    )


def shown_sets(names: Iterable[str], id_name: str | None, show: str | None = None) -> list[str]:
    """The sets a histogram draws: every set, or the ID set and ``show`` alone.

    Args:
        names: every set, in order.
        id_name: the in-distribution set (always drawn).
        show: one set to draw next to the ID set; None draws them all.
    """
    names = list(names)
    if show is None:
        return names
    if show not in names:
        raise ChartError(f"cannot show {show!r}: the sets are {', '.join(map(repr, names))}")
    return [n for n in names if n in (id_name, show)]


def _overlaid_histogram(
    values: Mapping[str, np.ndarray],
    id_name: str | None,
    bins: int,
    sample_ids: Mapping[str, Sequence[str]] | None,
    colors: Mapping[str, str] | None,
    value_label: str,
    show: str | None = None,
) -> go.Figure:
    """Overlaid density bars of the shown sets on bins shared by all sets, in ``values``' order
    (trace i is the i-th shown set), then the ID set's outline on top. Drags select a range of
    bars; the x axis spans exactly the bins."""
    if not values:
        raise ChartError("no sets to draw; pass at least one set name -> values")
    edges = histogram_edges(values, bins)
    palette = resolve_colors(values, id_name, colors)
    fig = go.Figure()
    for name in shown_sets(values, id_name, show):
        array = values[name]
        ids = None if sample_ids is None or sample_ids.get(name) is None else list(sample_ids[name])
        if ids is not None and len(ids) != len(array):
            raise ChartError(f"sample_ids[{name!r}] has {len(ids)} ids for {len(array)} values")
        opacity = 0.35 if name == id_name else 0.55
        label = set_label(name, id_name)
        fig.add_trace(_density_bar(array, edges, name, label, palette[name], value_label, ids, opacity))
    if id_name in values:
        fig.add_trace(_step_outline(values[id_name], edges, id_name, palette[id_name]))
    # A drag selects every bar in an x range (Streamlit keeps a figure's own dragmode; with a
    # box tool, Streamlit 1.67 sets clickmode "event", so clicks select only in Pan or Zoom).
    fig.update_layout(
        barmode="overlay",
        bargap=0,
        clickmode="event+select",
        dragmode="select",
        selectdirection="h",
        xaxis={"range": [float(edges[0]), float(edges[-1])], "tickfont": TICK_FONT},
        yaxis={"tickfont": TICK_FONT},
    )
    return fig


def score_histogram(
    scores: Mapping[str, np.ndarray],
    id_name: str | None,
    threshold: float | None,
    method_label: str,
    bins: int = 50,
    sample_ids: Mapping[str, Sequence[str]] | None = None,
    colors: Mapping[str, str] | None = None,
    threshold_label: str = "95% TPR threshold",
    height: int = 380,
    show: str | None = None,
) -> go.Figure:
    """Overlaid score histograms of several sets with the OOD threshold drawn.

    The ID set is drawn translucent with a step outline on top, so it stays visible under the
    OOD sets; bins and the x range span all sets (whichever are shown).

    Args:
        scores: set name -> (N_set,) scores, higher = more likely OOD. Trace i is the i-th set.
        id_name: the in-distribution set (drawn in the ID colour, marked "(ID)").
        threshold: flag-as-OOD threshold (score > threshold), drawn as a dashed vertical
            line; None draws none.
        method_label: display name of the score, e.g. "GAIA-A".
        bins: number of bins shared by all sets (`histogram_edges`).
        sample_ids: optional set name -> (N_set,) ids listed in the bars' hover texts.
        colors: optional set name -> colour (see `gaia_core.charts.style.dataset_colors`).
        threshold_label: annotation of the threshold line.
        height: figure height in pixels.
        show: draw the ID set and this set alone (see `shown_sets`); None draws every set.
    """
    checked = {name: as_values(v, f"scores[{name!r}]") for name, v in scores.items()}
    fig = _overlaid_histogram(checked, id_name, bins, sample_ids, colors, f"{method_label} score", show)
    if threshold is not None:
        fig.add_vline(
            x=float(threshold),
            line={"color": THRESHOLD_COLOR, "dash": "dash", "width": 2},
            annotation_text=threshold_label,
            annotation_position="top right",
        )
    return base_layout(
        fig,
        f"{method_label}: score distribution per set",
        height,
        xaxis_title=f"{method_label} score ({SCORE_AXIS_NOTE})",
        yaxis_title="probability density",
        legend=_SIDE_LEGEND,
    )


def readout_distribution_figure(
    values: Mapping[str, np.ndarray],
    readout_label: str,
    id_name: str | None = None,
    bins: int = 30,
    sample_ids: Mapping[str, Sequence[str]] | None = None,
    colors: Mapping[str, str] | None = None,
    height: int = 340,
    show: str | None = None,
    note: str | None = None,
) -> go.Figure:
    """ID-vs-OOD distribution of an attribution-concentration readout (sparsity, entropy).

    NaN values (maps that are zero everywhere have no readout) are left out and counted in
    the title; rows keep their indices, so `rows_in_selection` still maps bars to rows.

    Args:
        values: set name -> (N_set,) readout per image.
        readout_label: what the readout is, e.g. "Gini sparsity (1 = concentrated)".
        id_name, bins, sample_ids, colors, height, show: as in `score_histogram`.
        note: a second title line, e.g. the AUROC of ID vs each OOD set.
    """
    arrays = {name: np.asarray(v, dtype=np.float64).ravel() for name, v in values.items()}
    if any(np.isinf(a).any() for a in arrays.values()):
        raise ChartError("readout values contain infinite values; only NaN may mark a missing readout")
    fig = _overlaid_histogram(arrays, id_name, bins, sample_ids, colors, readout_label, show)
    missing = sum(int(np.isnan(arrays[n]).sum()) for n in shown_sets(arrays, id_name, show))
    title = f"{readout_label}: ID vs OOD"
    if missing:
        title += f" ({missing} maps without a readout left out)"
    if note:
        title += f"<br><sup>{note}</sup>"
    return base_layout(
        fig, title, height, xaxis_title=readout_label, yaxis_title="probability density", legend=_SIDE_LEGEND
    )


# Scores with a natural range, by display name: the x axis of `score_position_figure` stays inside it.
_NATURAL_RANGES = {_method_label("msp"): (-1.0, 0.0), _method_label("gaia_z"): (0.0, 1.0)}


def score_axis_range(
    values: Sequence[float], natural_range: tuple[float, float] | None = None, margin: float = 0.04
) -> list[float]:
    """An x range holding ``values`` with ``margin`` of their span on each side, clipped to
    ``natural_range`` widened by 1% of its width (so a line on its edge still shows).

    Args:
        values: what must show (the reference's bin edges, the image's score, the threshold).
        natural_range: (low, high) the score cannot leave, e.g. MSP's (-1, 0); None: unbounded.
        margin: fraction of the values' span added on each side.
    """
    array = as_values(values, "values")
    low, high = float(array.min()), float(array.max())
    pad = margin * (high - low) or 0.5
    low, high = low - pad, high + pad
    if natural_range is not None:
        lo, hi = map(float, natural_range)
        edge = 0.01 * (hi - lo)
        low, high = max(low, lo - edge), min(high, hi + edge)
    return [low, high]


def score_position_figure(
    value: float,
    id_scores: np.ndarray,
    threshold: float,
    method_label: str,
    bins: int = 40,
    threshold_label: str | None = None,
    height: int = 270,
    natural_range: tuple[float, float] | None = None,
    tpr: float = 0.95,
) -> go.Figure:
    """One image's score placed on the ID reference distribution.

    The image's label sits at the top of the plot, the threshold's one row lower, each on the side
    of its line with more room: they never overlap, whichever line is left. The x axis spans the
    reference, the image and the threshold with a small margin (`score_axis_range`).

    Args:
        value: the image's score (higher = more likely OOD).
        id_scores: (N_id,) scores of the ID reference set.
        threshold: flag-as-OOD threshold (flagged when value > threshold).
        method_label: display name of the score, e.g. "GAIA-Z".
        bins: bins of the reference histogram.
        threshold_label: annotation of the threshold line; None names the TPR it keeps
            ("80% TPR<br>threshold").
        height: figure height in pixels.
        natural_range: (low, high) the score cannot leave; by default MSP's (-1, 0) and GAIA-Z's
            (0, 1) by ``method_label``, none for the others.
        tpr: the fraction of ID images the threshold keeps (the page's TPR), named in its label.
    """
    if threshold_label is None:
        threshold_label = f"{tpr:.0%} TPR<br>threshold"
    reference = as_values(id_scores, "id_scores")
    value = float(value)
    if not np.isfinite(value):
        raise ChartError(f"the image's {method_label} score is {value}; it must be finite")
    percentile = percentile_of(value, reference)
    flagged = value > float(threshold)
    edges = histogram_edges({"ID reference": reference}, bins)
    bar = _density_bar(reference, edges, "ID reference", "ID reference", ID_COLOR, f"{method_label} score", None)
    natural = natural_range if natural_range is not None else _NATURAL_RANGES.get(method_label)
    x_range = score_axis_range([edges[0], edges[-1], value, float(threshold)], natural)

    def side(x: float) -> str:  # the label goes where the plot has more room
        return "right" if x < (x_range[0] + x_range[1]) / 2 else "left"

    # Two rows (the image's label at the top, the threshold's below it): "95% TPR threshthis image"
    # cannot happen, wherever the two lines fall.
    image_line = vertical_line(value, "#D55E00" if flagged else "#009E73", "this image", side(value), width=3)
    threshold_line = vertical_line(
        float(threshold), THRESHOLD_COLOR, threshold_label, side(float(threshold)), dash="dash", y=0.8
    )
    for label in (image_line[1], threshold_line[1]):
        label["font"] = {"size": 11}  # the plot is ~100 px wide three to a row at 1024 px
    verdict = "flagged as OOD" if flagged else "not flagged (ID-like)"
    # One figure from one spec: this chart is drawn per method for every image shown, and plotly's
    # incremental add_vline/update_layout cost ~10x more server CPU than building it at once.
    # The title takes three short lines: the chart is drawn three to a row.
    return figure(
        [bar],
        f"{method_label} = {value:.4g}<br><sup>{verdict}</sup><br><sup>{percentile:.1f}% of ID scores ≤ it</sup>",
        height,
        xaxis={"title": {"text": f"{method_label} score"}, "range": x_range, "tickfont": TICK_FONT},
        yaxis={"title": {"text": "density"}, "tickfont": TICK_FONT},
        showlegend=False,
        shapes=[threshold_line[0], image_line[0]],
        annotations=[image_line[1], threshold_line[1]],
        barmode="overlay",
        bargap=0,
        margin={"l": 48, "r": 16, "t": 80, "b": 40},
        dragmode=False,
    )
