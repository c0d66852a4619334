"""The small computations behind the app's pages, kept out of the pages so they can be tested.

Thresholds and verdicts for one image, the ID + OOD table of a benchmark and the rows it
misflags, where two methods disagree, metrics of every method side by side, channel values
regrouped per set, display images, and the attribution-concentration readouts of a dataset.
No streamlit here; inputs are never modified. Scores are abnormalities: higher = more OOD,
and a sample is flagged as OOD when its score is strictly above the threshold.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from PIL import Image
from torch import nn

from gaia_core.attribution import AttributionConfig, attribute
from gaia_core.attribution.overlay import denormalize
from gaia_core.attribution.readout import READOUTS
from gaia_core.charts.distributions import percentile_of
from gaia_core.charts.style import method_label
from gaia_core.data.base import ScoreDataset, UnreadableSample, evenly_spaced
from gaia_core.device import model_device
from gaia_core.evaluate import DatasetScores
from gaia_core.metrics import threshold_at_tpr

# Columns added by `combined_table`: the set a row comes from (its title), whether that set is
# the ID set, and the row's position in its own set's table (where its channel values are).
SET_COLUMN = "set"
IS_ID_COLUMN = "is_id"
ROW_COLUMN = "row"
METRIC_KEYS = ("fpr95", "auroc", "aupr_in", "aupr_out")
# Disagreement filters of `disagreement`: keep every row, rows only method A flags, only B flags.
DISAGREEMENTS = ("all", "a_only", "b_only")


class AppSupportError(ValueError):
    """An app computation got inputs that do not fit together; the message says what to change."""


def thresholds_at_tpr(id_table: pd.DataFrame, methods: Sequence[str], tpr: float = 0.95) -> dict[str, float]:
    """Per method, the threshold that keeps ``tpr`` of the ID set (flag OOD when score > t).

    Args:
        id_table: the ID set's per-sample table, one score column per method.
        methods: score column names.
        tpr: fraction of ID samples to accept, in (0, 1].
    """
    missing = [m for m in methods if m not in id_table.columns]
    if missing:
        raise AppSupportError(f"the ID table has no scores for {missing}; score the ID set with these methods")
    return {m: threshold_at_tpr(id_table[m].to_numpy(dtype=np.float64), tpr) for m in methods}


def score_verdicts(
    scores: Mapping[str, float], id_table: pd.DataFrame | None, thresholds: Mapping[str, float] | None
) -> pd.DataFrame:
    """One image's scores placed on the ID reference.

    Args:
        scores: method -> the image's score.
        id_table: the ID set's per-sample table (None when no reference is available).
        thresholds: method -> flag-as-OOD threshold (from `thresholds_at_tpr`), or None.

    Returns:
        one row per method: method, label, score, id_percentile (% of ID scores <= it),
        threshold, flagged (score > threshold); the last three are NaN / None without a reference.
    """
    rows = []
    for method, score in scores.items():
        known = id_table is not None and thresholds is not None and method in thresholds
        percentile = percentile_of(score, id_table[method].to_numpy()) if known else np.nan
        threshold = float(thresholds[method]) if known else np.nan
        rows.append(
            {
                "method": method,
                "label": method_label(method),
                "score": float(score),
                "id_percentile": percentile,
                "threshold": threshold,
                "flagged": bool(score > threshold) if known else None,
            }
        )
    return pd.DataFrame(rows, columns=["method", "label", "score", "id_percentile", "threshold", "flagged"])


def combined_table(id_scores: DatasetScores, ood_scores: Mapping[str, DatasetScores]) -> pd.DataFrame:
    """The ID set's and every OOD set's per-sample tables stacked, with `SET_COLUMN`,
    `IS_ID_COLUMN` and `ROW_COLUMN` added; the index is 0..n-1."""
    parts = []
    for title, scores, is_id in [(id_scores.title, id_scores, True), *((t, s, False) for t, s in ood_scores.items())]:
        part = scores.table.copy()
        part[SET_COLUMN] = title
        part[IS_ID_COLUMN] = is_id
        part[ROW_COLUMN] = np.arange(len(part))
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def selected_rows(table: pd.DataFrame, picks_per_set: Mapping[str, Sequence], column: str = ROW_COLUMN) -> pd.DataFrame:
    """Rows of a `combined_table` picked per set, set by set.

    Args:
        picks_per_set: set title -> values of ``column`` to keep: by default positions in that
            set's own table (as `points_to_rows` and `gaia_core.charts.rows_in_selection`
            return them), or e.g. sample ids with ``column="sample_id"``.
    """
    parts = [table[(table[SET_COLUMN] == title) & table[column].isin(list(picks))]
             for title, picks in picks_per_set.items()]
    return pd.concat(parts) if parts else table.iloc[:0]


def flag_counts(table: pd.DataFrame, thresholds: Mapping[str, float]) -> np.ndarray:
    """(N,) how many of the methods in ``thresholds`` flag each row as OOD (score > threshold)."""
    flags = [table[m].to_numpy(dtype=np.float64) > t for m, t in thresholds.items()]
    return np.sum(flags, axis=0).astype(int) if flags else np.zeros(len(table), dtype=int)


def misflagged(
    table: pd.DataFrame, method: str, threshold: float, most_abnormal_first: bool = True
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The errors of one method at one threshold.

    Args:
        table: a `combined_table`.
        method: score column.
        threshold: flag as OOD when score > threshold.
        most_abnormal_first: sort by score descending (else ascending).

    Returns:
        (ID rows flagged as OOD, OOD rows accepted as ID), each sorted by the method's score.
    """
    if method not in table.columns:
        raise AppSupportError(f"the table has no '{method}' scores")
    flagged = table[method].to_numpy(dtype=np.float64) > threshold
    is_id = table[IS_ID_COLUMN].to_numpy(dtype=bool)
    order = {"by": method, "ascending": not most_abnormal_first, "kind": "stable"}
    return table[is_id & flagged].sort_values(**order), table[~is_id & ~flagged].sort_values(**order)


def disagreement(
    table: pd.DataFrame, method_a: str, method_b: str, thresholds: Mapping[str, float], keep: str = "all"
) -> pd.DataFrame:
    """Rows where two methods disagree at their thresholds.

    Args:
        table: per-sample rows with both score columns.
        method_a, method_b: score columns (e.g. "gaia_a" and "msp").
        thresholds: method -> flag-as-OOD threshold, for both methods.
        keep: "all" (no filter), "a_only" (A flags, B does not) or "b_only" (B flags, A does not).
    """
    if keep not in DISAGREEMENTS:
        raise AppSupportError(f"keep must be one of {DISAGREEMENTS}, got {keep!r}")
    if keep == "all":
        return table
    a = table[method_a].to_numpy(dtype=np.float64) > thresholds[method_a]
    b = table[method_b].to_numpy(dtype=np.float64) > thresholds[method_b]
    return table[a & ~b] if keep == "a_only" else table[~a & b]


def metrics_by_method(
    metrics: Mapping[str, Mapping[str, Mapping[str, float]]], ood_set: str | None = None
) -> pd.DataFrame:
    """Every method's metrics side by side, for one OOD set or averaged over the OOD sets.

    Args:
        metrics: method -> OOD set -> {"fpr95", "auroc", "aupr_in", "aupr_out"} (fractions), as
            in `gaia_core.benchmark.BenchmarkResult.metrics`.
        ood_set: one OOD set's name, or None for the mean over all sets (the papers' average).

    Returns:
        index = method names, columns `METRIC_KEYS`, fractions.
    """
    rows = {}
    for method, per_set in metrics.items():
        if ood_set is None:
            if not per_set:
                raise AppSupportError("no OOD set was scored; there are no metrics to average")
            rows[method] = {k: float(np.mean([m[k] for m in per_set.values()])) for k in METRIC_KEYS}
        elif ood_set in per_set:
            rows[method] = {k: float(per_set[ood_set][k]) for k in METRIC_KEYS}
        else:
            raise AppSupportError(f"no metrics for OOD set '{ood_set}'; scored sets: {', '.join(per_set)}")
    return pd.DataFrame.from_dict(rows, orient="index", columns=list(METRIC_KEYS))


def per_set(scores: Mapping[str, DatasetScores], column: str) -> dict[str, np.ndarray]:
    """Set title -> one table column's values (a method's scores, "sample_id", ...), row order."""
    return {title: s.table[column].to_numpy() for title, s in scores.items()}


def channels_per_set(scores: Mapping[str, DatasetScores], method: str) -> dict[str, dict[str, np.ndarray]]:
    """Set title -> layer -> (N, C) per-channel values of a GAIA method."""
    missing = [title for title, s in scores.items() if method not in s.channels]
    if missing:
        raise AppSupportError(
            f"no per-channel {method_label(method)} values for {', '.join(missing)}: score with {method} "
            "and keep the channels"
        )
    return {title: s.channels[method] for title, s in scores.items()}


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


def upscale(rgb: np.ndarray, min_side: int = 128) -> np.ndarray:
    """A uint8 (H, W, 3) image enlarged by a whole factor with nearest neighbour, so its shorter
    side reaches ``min_side`` (pixels stay sharp); images already that large are unchanged."""
    array = np.asarray(rgb)
    factor = max(1, -(-int(min_side) // max(1, min(array.shape[:2]))))
    if factor == 1:
        return array
    image = Image.fromarray(array)
    return np.asarray(image.resize((array.shape[1] * factor, array.shape[0] * factor), Image.NEAREST))


def display_image(x: torch.Tensor, mean: Sequence[float], std: Sequence[float], min_side: int = 128) -> np.ndarray:
    """A model input (C, H, W) as the uint8 (H', W', 3) picture a person sees (de-normalized, upscaled)."""
    return upscale(denormalize(x, mean, std), min_side)


def dataset_inputs(dataset: ScoreDataset, indices: Sequence[int]) -> tuple[torch.Tensor, list[str]]:
    """Model inputs (k, C, H, W) and sample ids of some dataset items; unreadable items are left out."""
    images, ids = [], []
    for index in indices:
        try:
            sample = dataset[int(index)]
        except UnreadableSample:
            continue
        images.append(sample.image)
        ids.append(sample.sample_id)
    if not images:
        raise AppSupportError(f"none of the {len(indices)} requested samples of '{dataset.name}' could be read")
    return torch.stack(images), ids


@dataclass(frozen=True)
class Readouts:
    """Attribution-concentration readouts of some images of one set.

    Attributes:
        sample_ids: (n,) ids of the images, in dataset order.
        values: readout name (see `gaia_core.attribution.readout.READOUTS`) -> (n,) float64,
            NaN for maps that are zero everywhere.
    """

    sample_ids: list[str]
    values: dict[str, np.ndarray]


def attribution_readouts(
    model: nn.Module,
    dataset: ScoreDataset,
    config: AttributionConfig,
    max_samples: int = 100,
    progress: Callable[[int, int], None] | None = None,
) -> Readouts:
    """Attribution maps of up to ``max_samples`` images spread evenly over ``dataset``, reduced
    to every registered concentration readout (the maps themselves are not kept).

    Args:
        model: classifier in eval mode (not modified; attribution runs on a private copy).
        dataset: a `ScoreDataset` preprocessed for the model.
        config: which attribution method and its settings.
        max_samples: images used, at most.
        progress: called as ``progress(images done, images in total)``.
    """
    subset = evenly_spaced(dataset, max_samples)
    x, ids = dataset_inputs(subset, range(len(subset)))
    maps = attribute(model, x.to(model_device(model)), config, progress=progress).maps
    return Readouts(ids, {name: np.atleast_1d(r.compute(maps)).astype(np.float64) for name, r in READOUTS.items()})
