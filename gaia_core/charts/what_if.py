"""Charts of the "What if?" page: how one image's scores move as a perturbation grows."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import plotly.graph_objects as go

from gaia_core.charts.style import ID_COLOR, THRESHOLD_COLOR, base_layout, method_colors
from gaia_core.scores import method_label
from gaia_core.teaching.sweep import Sweep


def percentile_curves(sweep: Sweep, current: float | None = None, title: str = "Scores as ID percentiles") -> go.Figure:
    """One line per method: its score's percentile among ID scores against strength.

    The dashed line is the 95%-TPR threshold (a method flags the image above it), a diamond marks
    where each method first flags the image, dotted verticals where the prediction flips, and the
    grey band the current strength.
    """
    strengths = sweep.strengths
    colors = method_colors(sweep.percentiles)
    fig = go.Figure()
    for name, values in sweep.percentiles.items():
        fig.add_trace(
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
        first = sweep.first_flag[name]
        if first is not None:
            i = sweep.index(first)
            fig.add_trace(
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
    level = float(np.median(list(sweep.threshold_percentiles.values())))
    fig.add_hline(y=level, line={"dash": "dash", "color": THRESHOLD_COLOR}, annotation_text="95%-TPR threshold")
    for flip in sweep.flips:
        fig.add_vline(x=flip, line={"dash": "dot", "color": "#999999"}, annotation_text="prediction flips")
    if current is not None:
        fig.add_vline(x=current, line={"width": 8, "color": "rgba(0,0,0,0.12)"})
    base_layout(fig, title, 420, xaxis_title="strength", yaxis_title="percentile among ID scores")
    fig.update_yaxes(range=[-2, 102])
    return fig


def prediction_curve(sweep: Sweep, class_name: Callable[[int], str] = str, current: float | None = None) -> go.Figure:
    """Confidence of the predicted class against strength, each point labelled with its class."""
    labels = [class_name(int(p)) for p in sweep.predictions]
    fig = go.Figure(
        go.Scatter(
            x=sweep.strengths,
            y=sweep.confidences,
            mode="lines+markers+text",
            text=labels,
            textposition="top center",
            line={"color": ID_COLOR},
            hovertemplate="strength %{x:.2f}<br>predicted %{text}<br>confidence %{y:.1%}<extra></extra>",
            name="prediction",
        )
    )
    for flip in sweep.flips:
        fig.add_vline(x=flip, line={"dash": "dot", "color": "#999999"})
    if current is not None:
        fig.add_vline(x=current, line={"width": 8, "color": "rgba(0,0,0,0.12)"})
    base_layout(fig, "Prediction and confidence", 300, xaxis_title="strength", yaxis_title="confidence")
    fig.update_yaxes(range=[0, 1.12], tickformat=".0%")
    return fig


def layer_profile_bars(
    sweep: Sweep, index: int, method: str, id_means: Mapping[str, float], quantity: str
) -> go.Figure:
    """Per layer, the image's mean channel value at one strength beside the ID mean.

    Args:
        sweep: the sweep.
        index: position of the strength shown.
        method: "gaia_z" or "gaia_a" (a key of ``sweep.layer_profiles``).
        id_means: layer -> ID mean of the same quantity.
        quantity: axis name ("r̄" or "ū/o").
    """
    layers = list(sweep.layer_profiles[method])
    image = [float(sweep.layer_profiles[method][layer][index]) for layer in layers]
    fig = go.Figure(
        [
            go.Bar(
                x=layers, y=[id_means.get(layer, np.nan) for layer in layers], name="ID mean", marker_color=ID_COLOR
            ),
            go.Bar(x=layers, y=image, name=f"this image at {sweep.strengths[index]:.2f}", marker_color="#D55E00"),
        ]
    )
    base_layout(fig, f"{method_label(method)}: per-layer {quantity}", 320, barmode="group", yaxis_title=quantity)
    return fig
