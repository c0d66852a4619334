"""The per-layer view of the layer lab: each layer alone, in network order, per OOD set."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from gaia_core.charts.style import TICK_FONT, ChartError, base_layout, dataset_colors


def per_layer_figure(table: pd.DataFrame, title: str = "Each layer alone") -> go.Figure:
    """AUROC (top) and FPR95 (bottom) of each layer alone, one line per OOD set, layers in network order.

    Args:
        table: `gaia_core.evaluation.layer_lab.per_layer_metrics` output (columns layer, position,
            set, auroc, fpr95, ...); the "Average" set is drawn dashed.
        title: the figure's title.
    """
    needed = {"layer", "position", "set", "auroc", "fpr95"}
    if not needed <= set(table.columns) or table.empty:
        raise ChartError(f"the per-layer table needs columns {sorted(needed)} and at least one row")
    sets = list(dict.fromkeys(table["set"]))
    colors = dataset_colors(["ID", *[s for s in sets if s != "Average"]], "ID")
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08, subplot_titles=("AUROC ↑", "FPR95 ↓"))
    for name in sets:
        rows = table[table["set"] == name].sort_values("position")
        style = {"color": "#222222", "dash": "dash"} if name == "Average" else {"color": colors[name]}
        for row, metric in ((1, "auroc"), (2, "fpr95")):
            fig.add_trace(
                go.Scatter(
                    x=rows["layer"],
                    y=rows[metric],
                    mode="lines+markers",
                    name=name,
                    legendgroup=name,
                    showlegend=row == 1,
                    line=style,
                    hovertemplate=f"{name}<br>%{{x}}<br>{metric}: %{{y:.1%}}<extra></extra>",
                ),
                row=row,
                col=1,
            )
    base_layout(fig, title, height=600)  # the sets' legend under the plots, clear of the subplot titles
    fig.update_yaxes(tickformat=".0%", range=[0, 1.02], tickfont=TICK_FONT)
    fig.update_xaxes(tickfont=TICK_FONT)
    fig.update_xaxes(tickangle=-45, row=2, col=1)
    return fig
