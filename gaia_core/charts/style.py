"""The shared look of every chart: colour-blind-safe colours, method names, base layout.

Colours come from the Okabe-Ito palette. The in-distribution set is always blue and no other
set is blue-ish (sky blue is left out of `OOD_PALETTE`); the other sets take the remaining
colours in the order they are listed. To keep one colour per set
across pages, build the mapping once with `dataset_colors` from the full list of sets and
pass it to every builder's ``colors`` argument.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from gaia_core.errors import GaiaError

TEMPLATE = "plotly_white"
ID_COLOR = "#0072B2"
# Okabe-Ito without its blues (#0072B2 is the ID set's, sky blue #56B4E9 reads as the same hue).
OOD_PALETTE = ("#E69F00", "#D55E00", "#009E73", "#CC79A7", "#F0E442", "#000000", "#999999")
THRESHOLD_COLOR = "#222222"
ZERO_COLOR = "#555555"
# Diverging scale for signed values centred at 0 (blue = negative, red = positive).
DIVERGING_SCALE = "RdBu_r"
SCORE_AXIS_NOTE = "higher = more likely OOD"
# Tick labels of every axis: 12 px reads from the back row on a projector's 1024×768.
TICK_FONT = {"size": 12}

METHOD_COLORS = {
    "gaia_a": "#0072B2",
    "gaia_z": "#D55E00",
    "msp": "#009E73",
    "maxlogit": "#CC79A7",
    "energy": "#E69F00",
    "odin": "#56B4E9",
    "gradnorm": "#000000",
    "react": "#999999",
}


class ChartError(GaiaError, ValueError):
    """A chart cannot be drawn from the given inputs; the message says what to change."""


def method_colors(names: Iterable[str]) -> dict[str, str]:
    """One fixed colour per known method; unknown methods take unused palette colours."""
    names = list(names)
    used = {METHOD_COLORS[n] for n in names if n in METHOD_COLORS}
    spare = [c for c in (ID_COLOR, *OOD_PALETTE) if c not in used] or list(OOD_PALETTE)
    colors, k = {}, 0
    for name in names:
        if name in METHOD_COLORS:
            colors[name] = METHOD_COLORS[name]
        else:
            colors[name] = spare[k % len(spare)]
            k += 1
    return colors


def dataset_colors(names: Iterable[str], id_name: str | None = None) -> dict[str, str]:
    """One colour per set: ``id_name`` gets `ID_COLOR`, the others the palette in order."""
    colors, k = {}, 0
    for name in names:
        if name == id_name:
            colors[name] = ID_COLOR
        else:
            colors[name] = OOD_PALETTE[k % len(OOD_PALETTE)]
            k += 1
    return colors


def resolve_colors(names: Iterable[str], id_name: str | None, colors: Mapping[str, str] | None) -> dict[str, str]:
    """The caller's colours where given, `dataset_colors` for the rest."""
    names = list(names)
    defaults = dataset_colors(names, id_name)
    given = dict(colors or {})
    return {name: given.get(name, defaults[name]) for name in names}


def set_label(name: str, id_name: str | None) -> str:
    """Legend label of a set: the ID set is marked "(ID)"."""
    return f"{name} (ID)" if name == id_name else name


def as_values(values, what: str, allow_empty: bool = False) -> np.ndarray:
    """``values`` as 1-D float64 (not copied when it already is: never write into it).

    Raises `ChartError` on NaN, infinite values or, unless ``allow_empty``, no values.
    """
    array = np.asarray(values, dtype=np.float64).ravel()
    if array.size == 0 and not allow_empty:
        raise ChartError(f"{what} is empty; pass at least one value")
    if not np.isfinite(array).all():
        raise ChartError(f"{what} contains NaN or infinite values; drop them before charting")
    return array


# The legend sits under the plot, below the x-axis title: at the bottom of the figure (container
# coordinates), where plotly reserves its height and lays the axis out above it. A legend above the
# plot wraps onto the title at 1024 px. Builders that keep theirs elsewhere (the histograms' side
# legend, the ROC's inside the plot) say so.
BOTTOM_LEGEND = {
    "orientation": "h",
    "xref": "paper",
    "x": 0.0,
    "xanchor": "left",
    "yref": "container",
    "y": 0.0,
    "yanchor": "bottom",
}
# A legend drawn inside the plot area on purpose: on a translucent background, so the lines under it
# do not run through its text.
LEGEND_BACKGROUND = "rgba(255, 255, 255, 0.8)"


def inside_legend(corner: str) -> dict:
    """A vertical legend inside the plot at its ``"top right"`` or ``"bottom right"`` corner, on
    `LEGEND_BACKGROUND`: for charts whose curves leave that corner empty."""
    top = corner == "top right"
    return {
        "orientation": "v",
        "yref": "paper",
        "yanchor": "top" if top else "bottom",
        "y": 0.98 if top else 0.02,
        "xanchor": "right",
        "x": 0.98,
        "bgcolor": LEGEND_BACKGROUND,
    }


# Labels drawn over data (a threshold's, a marker's) sit on this background to stay readable.
LABEL_BACKGROUND = "rgba(255, 255, 255, 0.85)"


def _title_spec(title: str) -> dict:
    # At the top of the figure; plotly pushes the plot down when the title needs more lines.
    return {
        "text": title,
        "x": 0.0,
        "xanchor": "left",
        "yref": "container",
        "y": 1.0,
        "yanchor": "top",
        "pad": {"t": 12},
        "automargin": True,
    }


def wrap_title(title: str, width: int = 32) -> str:
    """``title`` with its first line broken at spaces into lines of at most ``width`` characters:
    plotly never wraps a title, and one drawn in a half- or third-width column is cut off.

    Lines after the first (``<br>`` onwards, e.g. a ``<sup>`` note) are kept as they are.
    """
    first, sep, rest = title.partition("<br>")
    return "<br>".join(textwrap.wrap(first, width, break_long_words=False) or [first]) + sep + rest


# Tick labels at this size or larger: a projector's 1024x768 is read from the back of a room (the
# theme's own ticks were ~10 px). A builder's own ``tickfont`` wins.
TICK_FONT_SIZE = 12


def _axes_with_tick_font(layout: dict) -> dict:
    """``xaxis`` and ``yaxis`` of ``layout`` with `TICK_FONT_SIZE` unless they set a tick font."""
    axes = {}
    for axis in ("xaxis", "yaxis"):
        given = layout.get(axis) or {}
        given = given.to_plotly_json() if hasattr(given, "to_plotly_json") else dict(given)
        axes[axis] = {**given, "tickfont": {"size": TICK_FONT_SIZE, **given.get("tickfont", {})}}
    return axes


def _base_layout_spec(title: str, height: int, **layout) -> dict:
    return {
        "title": _title_spec(title),
        "height": height,
        "margin": {"l": 60, "r": 20, "t": 60, "b": 50},
        "legend": BOTTOM_LEGEND,
        **layout,
        **_axes_with_tick_font(layout),
    }


def figure(traces: Sequence[Any], title: str, height: int, **layout) -> go.Figure:
    """A figure built in one go from its traces and the base layout plus ``layout``.

    Equivalent to `base_layout` on a figure of ``traces``, for charts drawn on every rerun: plotly
    validates a whole spec once in a few ms, while each incremental ``add_vline`` or
    ``update_layout`` on a figure with shapes costs about as much again.
    """
    return go.Figure(data=list(traces), layout=_base_layout_spec(title, height, **layout))


def vertical_line(
    x: float, color: str, label: str, side: str, dash: str = "solid", width: int = 2, y: float = 1.0
) -> tuple[dict, dict]:
    """A full-height line at data ``x`` and its label on ``side`` ("left" or "right") of it, its top
    at paper height ``y`` (1 = the top of the plot), on `LABEL_BACKGROUND`: a (shape, annotation)
    pair for a layout's ``shapes`` and ``annotations``."""
    shape = {
        "type": "line",
        "xref": "x",
        "yref": "paper",
        "x0": x,
        "x1": x,
        "y0": 0,
        "y1": 1,
        "line": {"color": color, "dash": dash, "width": width},
    }
    annotation = {
        "x": x,
        "xref": "x",
        "y": y,
        "yref": "paper",
        "text": label,
        "showarrow": False,
        "xanchor": "right" if side == "left" else "left",
        "yanchor": "top",
        "bgcolor": LABEL_BACKGROUND,
    }
    return shape, annotation


def horizontal_line(y: float, color: str, dash: str = "solid", width: int = 1) -> dict:
    """A full-width line at data ``y``: a shape for a layout's ``shapes``."""
    return {
        "type": "line",
        "xref": "paper",
        "yref": "y",
        "x0": 0,
        "x1": 1,
        "y0": y,
        "y1": y,
        "line": {"color": color, "dash": dash, "width": width},
    }


def base_layout(fig: go.Figure, title: str, height: int, **layout) -> go.Figure:
    """Apply the project's title, margins and legend; returns ``fig``.

    No template is set here: in the app Streamlit's theme styles every chart, and setting a
    template costs ~40 ms of server CPU per figure (plotly validates all of it). Standalone
    outputs (the HTML report) call `standalone` instead.
    """
    fig.update_layout(_base_layout_spec(title, height, **layout))
    return fig


def standalone(fig: go.Figure) -> go.Figure:
    """``fig`` with the white `TEMPLATE` for a page Streamlit's theme does not style (a report).

    A box selection means something only in the app (the images behind the bars); on a page of its
    own a drag zooms instead.
    """
    zoom = {"dragmode": "zoom"} if fig.layout.dragmode == "select" else {}
    return fig.update_layout(template=TEMPLATE, **zoom)


# Right margin that holds a `margin_label` ("mean<br>0.06486").
LABEL_MARGIN = 72


def margin_label(y: float, text: str) -> dict:
    """A label beside the plot, in its right margin (see `LABEL_MARGIN`), at data height ``y``: for
    a full-width line's label (a mean, a threshold), which inside the plot would sit on bars or
    curves. An annotation for a layout's ``annotations``."""
    return {
        "x": 1,
        "xref": "paper",
        "xanchor": "left",
        "xshift": 4,
        "y": y,
        "yref": "y",
        "yanchor": "middle",
        "align": "left",
        "text": text,
        "showarrow": False,
    }
