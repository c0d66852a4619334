"""Charts of the "What if?" page: how one image's scores move as a perturbation grows.

Every builder takes plain arrays over the swept strengths (as a `gaia_core.teaching.sweep.Sweep`
holds them): ``strengths`` (S,) increasing, and per method or layer (S,) values."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from gaia_core.charts.style import (
    ID_COLOR,
    LABEL_BACKGROUND,
    LABEL_MARGIN,
    THRESHOLD_COLOR,
    figure,
    horizontal_line,
    margin_label,
    method_colors,
    vertical_line,
)
from gaia_core.scores import method_label


def percentile_curves(
    strengths: Sequence[float],
    percentiles: Mapping[str, np.ndarray],
    threshold_percentiles: Mapping[str, float],
    first_flag: Mapping[str, float | None],
    flips: Sequence[float],
    current: float | None = None,
    title: str = "Scores as ID percentiles",
) -> go.Figure:
    """One line per method: its score's percentile among ID scores against strength.

    The dashed line is the 95%-TPR threshold (a method flags the image above it), a diamond marks
    where each method first flags the image, dotted verticals where the prediction flips, and the
    grey band the current strength.

    Args:
        strengths: (S,) the swept strengths, increasing.
        percentiles: method -> (S,) percent of ID scores at or below the score.
        threshold_percentiles: method -> its threshold's percentile among the ID scores.
        first_flag: method -> the smallest strength it flags, None when it flags none.
        flips: strengths where the prediction differs from the one at the previous strength.
        current: the strength shown (a grey band), None for none.
    """
    strengths = np.asarray(strengths, dtype=np.float64)
    colors = method_colors(percentiles)
    traces = []
    for name, values in percentiles.items():
        traces.append(
            go.Scatter(
                x=strengths.tolist(),
                y=np.asarray(values).tolist(),
                mode="lines+markers",
                name=method_label(name),
                line={"color": colors[name]},
                marker={"size": 5},
                hovertemplate=f"{method_label(name)}<br>strength %{{x:.2f}}<br>percentile %{{y:.1f}}<extra></extra>",
            )
        )
        first = first_flag[name]
        if first is not None:
            i = int(np.abs(strengths - first).argmin())
            traces.append(
                go.Scatter(
                    x=[first],
                    y=[values[i]],
                    mode="markers",
                    marker={"symbol": "diamond", "size": 12, "color": colors[name], "line": {"width": 1}},
                    name=f"{method_label(name)} flags at {first:.2f}",
                    showlegend=False,
                    hovertemplate=f"{method_label(name)} first flags at strength {first:.2f}<extra></extra>",
                )
            )
    level = float(np.median(list(threshold_percentiles.values())))
    # Built in one go: this chart is redrawn on every slider move (see `figure`).
    shapes, annotations = _strength_marks(strengths, flips, current, "prediction flips")
    shapes.append(horizontal_line(level, THRESHOLD_COLOR, dash="dash"))
    # The threshold's label beside the plot (inside, the curves crowd the top where it is drawn);
    # the flips' label above the plot: neither can meet the other, a curve or the legend (under the plot).
    annotations.append(margin_label(level, "95%-TPR<br>threshold"))
    return figure(
        traces,
        title,
        460,
        shapes=shapes,
        annotations=annotations,
        xaxis_title="strength",
        yaxis={"title": {"text": "percentile among ID scores"}, "range": [-2, 102]},
        margin={"l": 60, "r": LABEL_MARGIN, "t": 80, "b": 50},
    )


def _strength_marks(
    strengths: np.ndarray, flips: Sequence[float], current: float | None, flip_label: str
) -> tuple[list[dict], list[dict]]:
    """Dotted verticals where the prediction flips and a grey band at the ``current`` strength.

    Unless ``flip_label`` is empty, one label (however many flips) names the dotted lines: above the
    plot, at the first flip, on a background, "(dotted)" added when there are several.
    """
    shapes, annotations = [], []
    for flip in flips:
        shapes.append(vertical_line(flip, "#999999", "", "right", dash="dot")[0])
    if flip_label and flips:
        first = min(flips)
        text = flip_label if len(flips) == 1 else f"{flip_label} (dotted)"
        middle = (float(strengths[0]) + float(strengths[-1])) / 2
        annotations.append(
            {
                "x": first,
                "xref": "x",
                "y": 1,
                "yref": "paper",
                "yanchor": "bottom",
                "xanchor": "left" if first <= middle else "right",
                "text": text,
                "showarrow": False,
                "bgcolor": LABEL_BACKGROUND,
            }
        )
    if current is not None:
        shapes.append(vertical_line(current, "rgba(0,0,0,0.12)", "", "right", width=8)[0])
    return shapes, annotations


def prediction_curve(
    strengths: Sequence[float],
    predictions: np.ndarray,
    confidences: np.ndarray,
    flips: Sequence[float],
    class_name: Callable[[int], str] = str,
    current: float | None = None,
) -> go.Figure:
    """Confidence of the predicted class against strength; a class is named where it starts (the
    first strength and each flip), on a background, and every point names it on hover.

    Args:
        strengths: (S,) the swept strengths, increasing.
        predictions: (S,) predicted class per strength.
        confidences: (S,) softmax probability of the predicted class.
        flips: strengths where the prediction changes.
        class_name: class index -> the name a person reads.
        current: the strength shown (a grey band), None for none.
    """
    strengths = np.asarray(strengths, dtype=np.float64)
    labels = [class_name(int(p)) for p in predictions]
    curve = go.Scatter(
        x=strengths,
        y=confidences,
        mode="lines+markers",
        customdata=labels,
        line={"color": ID_COLOR},
        hovertemplate="strength %{x:.2f}<br>predicted %{customdata}<br>confidence %{y:.1%}<extra></extra>",
        name="prediction",
    )
    # A label on every point ran into its neighbours and the dotted flip lines.
    starts = [
        {
            "x": float(x),
            "y": float(y),
            "text": f"<b>{label}</b>",
            "showarrow": False,
            "xanchor": "left",
            "yanchor": "bottom",
            "xshift": 5,
            "yshift": 3,
            "bgcolor": LABEL_BACKGROUND,
            "font": {"size": 13, "color": "#222222"},
        }
        for k, (x, y, label) in enumerate(zip(strengths, confidences, labels))
        if k == 0 or label != labels[k - 1]
    ]
    shapes, _ = _strength_marks(strengths, flips, current, "")
    return figure(
        [curve],
        "Prediction and confidence",
        300,
        shapes=shapes,
        annotations=starts,
        xaxis_title="strength",
        yaxis={"title": {"text": "confidence"}, "range": [0, 1.12], "tickformat": ".0%"},
    )


def layer_profile_bars(
    strengths: Sequence[float],
    profiles: Mapping[str, np.ndarray],
    index: int,
    method: str,
    id_means: Mapping[str, float],
    quantity: str,
) -> go.Figure:
    """Per layer, the image's mean channel value at one strength beside the ID mean, as horizontal
    bars: the layer names read horizontally (vertical names could not be read at 1024 px), in
    network order from the top.

    Args:
        strengths: (S,) the swept strengths.
        profiles: layer -> (S,) the image's mean channel value of ``method`` at each strength.
        index: position of the strength shown.
        method: "gaia_z" or "gaia_a".
        id_means: layer -> ID mean of the same quantity.
        quantity: axis name (`gaia_core.scores.channel_quantity` with ``layer_mean``: "r̄", "ū/o").

    Traces: [the ID means, the image's values], ``orientation="h"`` with the layers on the y axis.
    """
    layers = list(profiles)
    image = [float(profiles[layer][index]) for layer in layers]
    bars = [
        go.Bar(
            y=layers,
            x=[id_means.get(layer, np.nan) for layer in layers],
            orientation="h",
            name="ID mean",
            marker_color=ID_COLOR,
        ),
        go.Bar(
            y=layers,
            x=image,
            orientation="h",
            name=f"this image at {float(strengths[index]):.2f}",
            marker_color="#D55E00",
        ),
    ]
    # Two bars of ~9 px per layer, plus the title, the axis and the legend under the plot.
    height = max(300, 160 + 22 * len(layers))
    return figure(
        bars,
        f"{method_label(method)}: per-layer {quantity}",
        height,
        barmode="group",
        xaxis_title=quantity,
        yaxis={"autorange": "reversed", "automargin": True, "tickangle": 0},
        margin={"l": 60, "r": 20, "t": 60, "b": 50},
    )
