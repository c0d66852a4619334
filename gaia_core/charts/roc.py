"""ROC curves and the metrics table of several score methods side by side."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from pandas.io.formats.style import Styler
from sklearn.metrics import auc, roc_curve

from gaia_core.charts.style import (
    LABEL_BACKGROUND,
    TICK_FONT,
    ChartError,
    as_values,
    base_layout,
    inside_legend,
    method_colors,
)
from gaia_core.evaluation.metrics import METRICS
from gaia_core.scores import method_label

_BEST_STYLE = "font-weight: bold; background-color: #d6eaf8"


def roc_points(id_scores: np.ndarray, ood_scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ROC curve with ID as the positive class (scores are higher = more likely OOD).

    Args:
        id_scores: (N_id,) scores of ID samples.
        ood_scores: (N_ood,) scores of OOD samples.

    Returns:
        (fpr, tpr), each (T,): fraction of OOD accepted as ID and fraction of ID accepted,
        as the acceptance threshold sweeps from most to least ID-like.
    """
    id_s, ood_s = as_values(id_scores, "id_scores"), as_values(ood_scores, "ood_scores")
    is_id = np.concatenate([np.ones(id_s.size), np.zeros(ood_s.size)])
    fpr, tpr, _ = roc_curve(is_id, -np.concatenate([id_s, ood_s]))
    return fpr, tpr


def roc_figure(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]],
    title: str = "ROC: ID (positive) vs OOD",
    height: int = 440,
) -> go.Figure:
    """One ROC curve per method, the chance diagonal, AUROC in the legend.

    Args:
        curves: method name -> (fpr, tpr) from `roc_points`; known names ("gaia_a", ...)
            get their display name and fixed colour. Trace i is the i-th method.
        title: figure title.
        height: figure height in pixels.
    """
    if not curves:
        raise ChartError("no ROC curves to draw; pass method name -> (fpr, tpr)")
    colors = method_colors(curves)
    fig = go.Figure()
    for name, (fpr, tpr) in curves.items():
        fpr, tpr = as_values(fpr, f"fpr of {name!r}"), as_values(tpr, f"tpr of {name!r}")
        if fpr.size != tpr.size:
            raise ChartError(f"{name!r}: fpr has {fpr.size} points but tpr has {tpr.size}")
        area = auc(fpr, tpr) if fpr.size >= 2 else float("nan")
        label = method_label(name)
        fig.add_trace(
            go.Scatter(
                x=fpr,
                y=tpr,
                mode="lines",
                name=f"{label} (AUROC {100 * area:.1f}%)",
                line={"color": colors[name], "width": 2},
                hovertemplate=(f"<b>{label}</b><br>OOD accepted %{{x:.1%}}<br>ID accepted %{{y:.1%}}<extra></extra>"),
            )
        )
    fig.add_trace(
        go.Scatter(
            x=[0, 1],
            y=[0, 1],
            mode="lines",
            name="chance",
            line={"color": "#999999", "dash": "dot", "width": 1},
            hoverinfo="skip",
        )
    )
    fig.add_hline(
        y=0.95,
        line={"color": "#999999", "dash": "dash", "width": 1},
        annotation_text="TPR 95% (FPR95 is read here)",
        annotation_position="bottom right",
        annotation_bgcolor=LABEL_BACKGROUND,  # curves run through where it is drawn
    )
    fig = base_layout(
        fig,
        title,
        height,
        xaxis_title="false-positive rate: OOD accepted as ID",
        yaxis_title="true-positive rate: ID accepted",
    )
    # Inside the plot on purpose, bottom right, where good curves leave room (a legend of up to nine
    # methods under the plot would squeeze it); on a background, so a weak curve through it stays apart.
    fig.update_layout(legend=inside_legend("bottom right"))
    fig.update_xaxes(range=[0, 1], tickformat=".0%", tickfont=TICK_FONT)
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%", tickfont=TICK_FONT)
    return fig


def best_per_column(df: pd.DataFrame) -> dict[str, list]:
    """Row labels holding the best value of each metric column (ties: all of them).

    Best is lowest for "fpr95" and highest for "auroc", "aupr_in", "aupr_out"; other
    columns are ignored, as are NaN cells.

    Args:
        df: one row per method, metric columns as fractions (`gaia_core.evaluation.metrics.ood_metrics`).
    """
    best = {}
    for metric in METRICS:
        if metric.key not in df.columns or df[metric.key].isna().all():
            continue
        values = df[metric.key].astype(float)
        target = values.max() if metric.higher_is_better else values.min()
        best[metric.key] = list(df.index[values == target])
    return best


def style_metrics_table(df: pd.DataFrame, percent: bool = True) -> Styler:
    """The metrics table with each column's best method highlighted.

    Args:
        df: one row per method (index = method name or label), columns among "fpr95",
            "auroc", "aupr_in", "aupr_out" as fractions; other columns pass through.
        percent: show the metrics as percentages.

    Returns:
        a Styler over a relabelled copy of ``df`` (``df`` is not modified): index = method
        labels, headers with ↓ / ↑ telling which direction is better, best cells bold on a
        light-blue background.
    """
    best = best_per_column(df)
    # The labels go into the data itself: st.dataframe shows a Styler's cells and colours but
    # not its formatted index or headers.
    headers = {m.key: m.header for m in METRICS}
    shown = df.rename(index=lambda label: method_label(str(label)), columns=lambda c: headers.get(c, c))
    styles = pd.DataFrame("", index=shown.index, columns=shown.columns)
    for j, column in enumerate(df.columns):
        for i, label in enumerate(df.index):
            if label in best.get(column, []):
                styles.iat[i, j] = _BEST_STYLE
    styler = shown.style.apply(lambda _: styles, axis=None)
    metric_headers = [m.header for m in METRICS if m.key in df.columns]
    if metric_headers:
        styler = styler.format("{:.1%}" if percent else "{:.4f}", subset=metric_headers, na_rep="–")
    return styler
