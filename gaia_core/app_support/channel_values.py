"""Per-channel values of GAIA methods regrouped for the pages: per set, pooled, per layer,
per image, twin layers merged, and the rows behind points selected in a chart."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from gaia_core.app_support.tables import ROW_COLUMN, SET_COLUMN
from gaia_core.errors import AppSupportError
from gaia_core.evaluation.results import DatasetScores
from gaia_core.teaching.story import SAME_GRADIENT_TOLERANCE

# Joins the names of twin layers in a merged entry, e.g. "layer2.0.bn2 = layer2.0.downsample.1".
TWIN_JOIN = " = "


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


def _equal_values(a: np.ndarray, b: np.ndarray, tolerance: float) -> bool:
    if a.shape != b.shape:
        return False
    if a.size == 0:
        return True
    scale = max(float(np.abs(a).max()), float(np.abs(b).max()), 1e-30)
    return float(np.abs(a - b).max()) <= tolerance * scale


def twin_layers(
    *channel_sets: Mapping[str, np.ndarray], tolerance: float = SAME_GRADIENT_TOLERANCE
) -> list[tuple[str, ...]]:
    """Groups of layers whose per-channel values are the same on every image: layers that get
    the same gradient (a ResNet block's last norm and its shortcut's norm, which feed one sum),
    found from the values themselves (`gaia_core.teaching.story.same_gradient_layers` finds
    them from the gradients).

    Args:
        *channel_sets: one or more layer -> (N, C) per-channel values (e.g. ID and OOD sets, or
            several methods, which may tap different layers); two layers are twins when at least
            one set holds both, their values vary across images in some set, and, in every set
            holding both, their arrays have the same shape and differ by at most ``tolerance``
            times their largest absolute value.
        tolerance: relative tolerance (the one `same_gradient_layers` uses for gradients).

    Returns:
        groups of two or more twin layers, in the order layers first appear in the sets (network
        order when the first set holds every layer); a layer is in at most one group.
    """
    if not channel_sets:
        raise AppSupportError("no channel values to compare")
    layers = list(dict.fromkeys(layer for s in channel_sets for layer in s))

    def twins(a: str, b: str) -> bool:
        both = [s for s in channel_sets if a in s and b in s]
        # Two layers whose values never vary (e.g. r_c = 1 on every image) are equal without any
        # evidence of a shared gradient; they are not merged.
        varies = any(np.ptp(np.asarray(s[a], dtype=np.float64), axis=0).max(initial=0.0) > 0 for s in both)
        return varies and all(
            _equal_values(np.asarray(s[a], dtype=np.float64), np.asarray(s[b], dtype=np.float64), tolerance)
            for s in both
        )

    groups: list[list[str]] = []
    grouped: set[str] = set()
    for i, first in enumerate(layers):
        if first in grouped:
            continue
        group = [first]
        for other in layers[i + 1 :]:
            if other not in grouped and twins(first, other):
                group.append(other)
        if len(group) > 1:
            groups.append(group)
            grouped.update(group)
    return [tuple(group) for group in groups]


def scored_twins(scores: Sequence[DatasetScores], methods: Sequence[str]) -> list[tuple[str, ...]]:
    """`twin_layers` over every scored set and every GAIA method in ``methods``, so the groups do not
    change with the set or the method a page shows.

    Args:
        scores: the scored sets (ID first), each holding ``channels[method]`` for every method.
        methods: GAIA methods; the one tapping most layers is read first, so groups keep network order.
    """
    ordered = sorted(methods, key=lambda m: -len(scores[0].channels[m]))
    return twin_layers(*(s.channels[m] for m in ordered for s in scores))


def twin_name(group: Sequence[str]) -> str:
    """The merged entry's name of a group of twin layers, e.g. "layer2.0.bn2 = layer2.0.downsample.1"."""
    return TWIN_JOIN.join(group)


def twins_present(channels: Mapping[str, np.ndarray], groups: Sequence[Sequence[str]]) -> list[tuple[str, ...]]:
    """The groups of twin layers that ``channels`` holds two or more layers of, each cut to those
    layers, in ``channels``' order (the merged entries `merge_twins` makes).

    Args:
        channels: layer -> (N, C) per-channel values.
        groups: groups of twin layers (`twin_layers`).
    """
    present = [tuple(layer for layer in channels if layer in group) for group in groups]
    return sorted((g for g in present if len(g) > 1), key=lambda g: list(channels).index(g[0]))


def merge_twins(channels: Mapping[str, np.ndarray], groups: Sequence[Sequence[str]]) -> dict[str, np.ndarray]:
    """Layer -> (N, C) values with each group of twin layers shown once.

    Args:
        channels: layer -> (N, C) per-channel values.
        groups: groups of twin layers (`twin_layers`); layers of a group missing from
            ``channels`` are ignored.

    Returns:
        layer -> (N, C) values in ``channels``' order, where the first layer of each group in
        `twins_present` is renamed `twin_name` of that group and keeps its values, and the
        group's other layers are dropped; every other layer is unchanged.
    """
    rename, drop = {}, set()
    for present in twins_present(channels, groups):
        rename[present[0]] = twin_name(present)
        drop.update(present[1:])
    return {rename.get(layer, layer): values for layer, values in channels.items() if layer not in drop}


def source_layer(name: str) -> str:
    """The layer whose values an entry of `merge_twins` holds: the first layer of a merged name,
    any other name itself."""
    return name.split(TWIN_JOIN, 1)[0]
