"""The shared look of every chart: colour-blind-safe colours, method names, base layout.

Colours come from the Okabe-Ito palette. The in-distribution set is always blue and no other
set is blue-ish (sky blue is left out of `OOD_PALETTE`); the other sets take the remaining
colours in the order they are listed. To keep one colour per set
across pages, build the mapping once with `dataset_colors` from the full list of sets and
pass it to every builder's ``colors`` argument.
"""

from __future__ import annotations

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


def _base_layout_spec(title: str, height: int, **layout) -> dict:
    return {
        "title": {"text": title, "x": 0.0, "xanchor": "left"},
        "height": height,
        "margin": {"l": 60, "r": 20, "t": 60, "b": 50},
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1.0},
        **layout,
    }


def figure(traces: Sequence[Any], title: str, height: int, **layout) -> go.Figure:
    """A figure built in one go from its traces and the base layout plus ``layout``.

    Equivalent to `base_layout` on a figure of ``traces``, for charts drawn on every rerun: plotly
    validates a whole spec once in a few ms, while each incremental ``add_vline`` or
    ``update_layout`` on a figure with shapes costs about as much again.
    """
    return go.Figure(data=list(traces), layout=_base_layout_spec(title, height, **layout))


def vertical_line(
    x: float, color: str, label: str, side: str, dash: str = "solid", width: int = 2
) -> tuple[dict, dict]:
    """A full-height line at data ``x`` and its label at the top of the plot on ``side`` ("left"
    or "right") of it: a (shape, annotation) pair for a layout's ``shapes`` and ``annotations``."""
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
        "y": 1,
        "yref": "paper",
        "text": label,
        "showarrow": False,
        "xanchor": "right" if side == "left" else "left",
        "yanchor": "top",
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
