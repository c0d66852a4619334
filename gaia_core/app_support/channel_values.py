"""Per-channel values of GAIA methods regrouped for the pages: per set, pooled, per layer,
per image, twin layers merged, and the rows behind points selected in a chart."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from gaia_core.app_support.tables import ROW_COLUMN, SET_COLUMN
from gaia_core.errors import AppSupportError


def pooled_channels(per_set_channels: Sequence[Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Several sets' layer -> (N_set, C) values stacked into layer -> (sum N_set, C)."""
    if not per_set_channels:
        raise AppSupportError("no sets to pool")
    layers = [layer for layer in per_set_channels[0] if all(layer in s for s in per_set_channels)]
    return {layer: np.concatenate([np.asarray(s[layer]) for s in per_set_channels]) for layer in layers}


def layer_values(
    channels: Mapping[str, np.ndarray], per: str = "image", max_values: int = 20_000, seed: int = 0
) -> dict[str, np.ndarray]:
    """Layer -> 1-D values for a per-layer distribution plot.

    Args:
        channels: layer -> (N, C) per-channel values.
        per: "image" (each image's mean over the layer's channels, N values) or "channel"
            (every image's every channel, N * C values).
        max_values: at most this many values per layer, drawn uniformly without replacement
            with ``seed`` (plots stay light).
    """
    if per not in ("image", "channel"):
        raise AppSupportError(f"per must be 'image' or 'channel', got {per!r}")
    rng = np.random.default_rng(seed)
    out = {}
    for layer, values in channels.items():
        array = np.asarray(values, dtype=np.float64)
        flat = array.mean(axis=1) if per == "image" else array.ravel()
        if flat.size > max_values:
            flat = flat[np.sort(rng.choice(flat.size, max_values, replace=False))]
        out[layer] = flat
    return out


def row_channels(channels: Mapping[str, np.ndarray], row: int) -> dict[str, np.ndarray]:
    """Layer -> (C,) values of one row of layer -> (N, C) values."""
    return {layer: np.asarray(values)[row] for layer, values in channels.items()}


def image_profile(channels: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Layer -> one image's mean over the layer's channels, from layer -> (C,) values."""
    return {layer: float(np.mean(values)) for layer, values in channels.items()}


def concat_channels(channels: Mapping[str, np.ndarray]) -> np.ndarray:
    """All layers' (C_layer,) values of one image in one (sum C_layer,) vector, as GAIA averages them."""
    if not channels:
        raise AppSupportError("no layers to concatenate")
    return np.concatenate([np.asarray(v, dtype=np.float64).ravel() for v in channels.values()])


def points_to_rows(points: Sequence[Mapping], set_names: Sequence[str]) -> dict[str, list[int]]:
    """Rows behind points selected in a per-set chart whose trace i is set i and whose points carry
    ``customdata[0]`` = row index (`gaia_core.charts.channel_values_figure`).

    Args:
        points: selected points as Streamlit returns them (``curve_number``, ``customdata``).
        set_names: the chart's sets, in trace order.

    Returns:
        set name -> increasing row indices, only for sets with a selected point.
    """
    rows: dict[str, set[int]] = {}
    for point in points:
        curve = point.get("curve_number", point.get("curveNumber"))
        custom = point.get("customdata")
        if curve is None or not 0 <= int(curve) < len(set_names) or not custom:
            continue
        rows.setdefault(set_names[int(curve)], set()).add(int(custom[0]))
    return {name: sorted(found) for name, found in rows.items()}


def values_of_rows(rows: pd.DataFrame, per_set_values: Mapping[str, np.ndarray]) -> np.ndarray:
    """The value each row of a `combined_table` had in a per-set chart: the number it was selected by.

    Args:
        rows: rows of a `gaia_core.app_support.tables.combined_table` (their set and row in it).
        per_set_values: set title -> (N_set,) values in that set's table order (one channel's, say).

    Returns:
        (len(rows),) float64, in ``rows``' order.
    """
    missing = sorted(set(rows[SET_COLUMN]) - set(per_set_values))
    if missing:
        raise AppSupportError(f"no values for the set(s) {', '.join(missing)}")
    return np.array(
        [float(per_set_values[s][int(r)]) for s, r in zip(rows[SET_COLUMN], rows[ROW_COLUMN])], dtype=np.float64
    )
