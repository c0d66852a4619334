"""Which layers and which aggregation carry GAIA's signal: scores recomputed from cached channels.

GAIA-Z and GAIA-A keep one value per channel of every tapped layer (``DatasetScores.channels``:
layer -> (N, C)). A `LayerRecipe` picks a subset of those layers and an aggregation, and every
image's score is recomputed from the kept values alone: no model pass. With the default recipe
(all layers, the paper's mean of squares) the recomputed score is exactly the engine's.

Aggregations (higher = more abnormal, as every score in gaia_core):
- ``mean_square``: the paper's mean over channels of the squared value;
- ``mean``: the plain mean over channels;
- ``top_k``: the mean of the k largest squared values (the k most abnormal channels);
- ``id_standardized``: each layer's mean of squares standardized by its mean and standard
  deviation over the ID images, then averaged over layers (layers weigh alike, whatever their width).

Choosing layers on the OOD sets one reports flatters the result: `greedy_subset` selects on
one half of the images and reports on the other. Twin layers (a block's last norm and its
shortcut's norm feed one sum, so they get the same gradient and the same values) are one candidate
of the search and one row of `per_layer_table`: picking one of them alone, or the second after the
first, would only reweigh one layer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from gaia_core.errors import ConfigError
from gaia_core.evaluation.metrics import METRIC_KEYS, ood_metrics
from gaia_core.evaluation.twins import twin_layers, twin_name
from gaia_core.scores.base import mean_square

AGGREGATIONS = ("mean_square", "mean", "top_k", "id_standardized")
AGGREGATION_LABELS = {
    "mean_square": "mean of squares (the paper)",
    "mean": "plain mean",
    "top_k": "mean of the k most abnormal channels",
    "id_standardized": "each layer standardized on ID, then averaged",
}
Channels = Mapping[str, np.ndarray]  # layer -> (N, C) per-channel values, in network order


@dataclass(frozen=True)
class LayerRecipe:
    """How to turn per-channel values into one score per image."""

    # Layers to use, by dotted name; None = every layer the values were kept for.
    layers: tuple[str, ...] | None = None
    # One of AGGREGATIONS.
    aggregation: str = "mean_square"
    # Channels averaged by "top_k".
    k: int = 16

    def chosen(self, channels: Channels) -> list[str]:
        names = list(channels) if self.layers is None else list(self.layers)
        missing = [n for n in names if n not in channels]
        if missing or not names:
            raise ConfigError(
                f"no kept values for layer(s) {', '.join(missing)}" if missing else "choose at least one layer"
            )
        return names


def stage_of(layer: str) -> str:
    """The stage a layer belongs to: its first dotted component ("layer3.0.bn1" -> "layer3");
    layers at the top level ("bn1") form the stem."""
    return layer.split(".")[0] if "." in layer else "stem"


def stages(layers: Sequence[str]) -> dict[str, list[str]]:
    """Stage -> its layers, both in network order."""
    grouped: dict[str, list[str]] = {}
    for layer in layers:
        grouped.setdefault(stage_of(layer), []).append(layer)
    return grouped


def _layer_mean_squares(channels: Channels, layers: Sequence[str]) -> np.ndarray:
    """(N, L) each image's mean of squares within each layer."""
    return np.stack([np.square(np.asarray(channels[n], dtype=np.float64)).mean(axis=1) for n in layers], axis=1)


@dataclass(frozen=True)
class IdReference:
    """Per-layer mean and standard deviation of the layer's mean of squares over the ID images."""

    mean: dict[str, float]
    std: dict[str, float]

    @classmethod
    def of(cls, id_channels: Channels) -> IdReference:
        layers = list(id_channels)
        per_layer = _layer_mean_squares(id_channels, layers)
        std = per_layer.std(axis=0)
        std[std == 0] = 1.0  # a constant layer separates nothing; keep it finite
        return cls(dict(zip(layers, per_layer.mean(axis=0))), dict(zip(layers, std)))


def recompute(channels: Channels, recipe: LayerRecipe, reference: IdReference | None = None) -> np.ndarray:
    """Every image's score under ``recipe``.

    Args:
        channels: layer -> (N, C) kept values of one set.
        recipe: layers and aggregation.
        reference: the ID set's per-layer statistics (needed by "id_standardized").

    Returns:
        (N,) scores; with the default recipe exactly the engine's (same float32 operations).
    """
    layers = recipe.chosen(channels)
    if recipe.aggregation == "mean_square":
        values = {n: torch.from_numpy(np.ascontiguousarray(channels[n], dtype=np.float32)) for n in layers}
        return mean_square(values).numpy()
    if recipe.aggregation == "mean":
        return np.concatenate([np.asarray(channels[n], dtype=np.float64) for n in layers], axis=1).mean(axis=1)
    if recipe.aggregation == "top_k":
        squares = np.square(np.concatenate([np.asarray(channels[n], dtype=np.float64) for n in layers], axis=1))
        k = max(1, min(int(recipe.k), squares.shape[1]))
        return np.sort(squares, axis=1)[:, -k:].mean(axis=1)
    if recipe.aggregation == "id_standardized":
        if reference is None:
            raise ConfigError("the 'id_standardized' aggregation needs the ID set's per-layer statistics")
        per_layer = _layer_mean_squares(channels, layers)
        mean = np.array([reference.mean[n] for n in layers])
        std = np.array([reference.std[n] for n in layers])
        return ((per_layer - mean) / std).mean(axis=1)
    raise ConfigError(f"unknown aggregation '{recipe.aggregation}'; choose one of {', '.join(AGGREGATIONS)}")


def recipe_metrics(id_channels: Channels, ood_channels: Mapping[str, Channels], recipe: LayerRecipe) -> pd.DataFrame:
    """Metrics of ``recipe`` per OOD set (rows) and their average ("Average").

    Returns:
        columns `METRIC_KEYS` as fractions, index = OOD set titles then "Average".
    """
    reference = IdReference.of(id_channels)
    id_scores = recompute(id_channels, recipe, reference)
    rows = {title: ood_metrics(id_scores, recompute(ch, recipe, reference)) for title, ch in ood_channels.items()}
    table = pd.DataFrame.from_dict(rows, orient="index", columns=list(METRIC_KEYS))
    table.loc["Average"] = table.mean(axis=0)
    return table


def per_layer_metrics(
    id_channels: Channels, ood_channels: Mapping[str, Channels], aggregation: str = "mean_square", k: int = 16
) -> pd.DataFrame:
    """Each layer alone, in network order: one row per (layer, OOD set) with every metric.

    Returns:
        columns layer, stage, position (network order, from 0), set, and `METRIC_KEYS` as fractions.
    """
    rows = []
    for position, layer in enumerate(id_channels):
        table = recipe_metrics(id_channels, ood_channels, LayerRecipe((layer,), aggregation, k))
        for title, metrics in table.iterrows():
            rows.append({"layer": layer, "stage": stage_of(layer), "position": position, "set": title, **metrics})
    return pd.DataFrame(rows, columns=["layer", "stage", "position", "set", *METRIC_KEYS])


def find_twins(id_channels: Channels, ood_channels: Mapping[str, Channels]) -> list[tuple[str, ...]]:
    """Groups of twin layers: equal values on every image of the ID and OOD sets
    (`gaia_core.app_support.twins.twin_layers`), in network order."""
    return twin_layers(id_channels, *ood_channels.values())


def layer_candidates(layers: Sequence[str], twins: Sequence[Sequence[str]]) -> list[tuple[str, ...]]:
    """The layers as the search and the tables see them: each group of twins present as one entry
    (at its first layer's place), every other layer alone, in network order."""
    present = [tuple(layer for layer in layers if layer in group) for group in twins]
    group_of = {layer: group for group in present if len(group) > 1 for layer in group}
    candidates: list[tuple[str, ...]] = []
    for layer in layers:
        candidate = group_of.get(layer, (layer,))
        if candidate not in candidates:
            candidates.append(candidate)
    return candidates


def per_layer_table(
    per_layer: pd.DataFrame, layers: Sequence[str], twins: Sequence[Sequence[str]], metric: str = "auroc"
) -> pd.DataFrame:
    """`per_layer_metrics` as one row per candidate (twins as one, named "a = b"), one column per set.

    Args:
        per_layer: `per_layer_metrics` output.
        layers: the layers in network order.
        twins: groups of twin layers (`find_twins`).
        metric: the metric shown.
    """
    wide = per_layer.pivot(index="layer", columns="set", values=metric)
    candidates = layer_candidates(layers, twins)
    table = wide.loc[[c[0] for c in candidates]]
    table.index = [twin_name(c) for c in candidates]
    return table[[s for s in dict.fromkeys(per_layer["set"]) if s in table.columns]]


def _rows(channels: Channels, rows: np.ndarray) -> dict[str, np.ndarray]:
    return {layer: np.asarray(values)[rows] for layer, values in channels.items()}


def split_halves(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A fixed random split of range(n) into a selection half and a report half (sorted, disjoint)."""
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[: n // 2]), np.sort(order[n // 2 :])


@dataclass(frozen=True)
class SubsetSearch:
    """The result of `greedy_subset`.

    Attributes:
        layers: the chosen layers, in the order they were added (both of a pair of twins).
        selection_auroc: mean AUROC over the OOD sets on the selection half after each addition.
        report: metrics of the chosen layers on the report half (per OOD set and "Average").
        default_report: the paper's default (all layers) on the same report half.
    """

    layers: tuple[str, ...]
    selection_auroc: tuple[float, ...]
    report: pd.DataFrame
    default_report: pd.DataFrame
    # The chosen candidates in the order added: a layer, or a group of twin layers.
    candidates: tuple[tuple[str, ...], ...] = ()

    @property
    def names(self) -> list[str]:
        """The chosen candidates as printed: a group of twins as "a = b"."""
        return [twin_name(c) for c in self.candidates]


def greedy_subset(
    id_channels: Channels,
    ood_channels: Mapping[str, Channels],
    aggregation: str = "mean_square",
    k: int = 16,
    seed: int = 0,
    max_layers: int | None = None,
    twins: Sequence[Sequence[str]] | None = None,
) -> SubsetSearch:
    """Forward selection of layers on one half of the images, reported on the other half.

    Starting from no layer, add the candidate (a layer, or a group of twin layers with both added)
    that most raises the mean AUROC over the OOD sets on the selection half; stop when none raises it
    (or at ``max_layers`` candidates). The chosen subset and the paper's default are then measured on
    the report half, which the search never saw.

    Args:
        twins: groups of twin layers; None = found from the values (`find_twins`).
    """
    id_pick, id_report = split_halves(len(next(iter(id_channels.values()))), seed)
    halves = {
        t: split_halves(len(next(iter(ch.values()))), seed + 1 + i) for i, (t, ch) in enumerate(ood_channels.items())
    }
    select_id = _rows(id_channels, id_pick)
    select_ood = {t: _rows(ch, halves[t][0]) for t, ch in ood_channels.items()}
    candidates = layer_candidates(list(id_channels), find_twins(id_channels, ood_channels) if twins is None else twins)
    chosen: list[tuple[str, ...]] = []
    history: list[float] = []
    best = -np.inf
    limit = len(candidates) if max_layers is None else max_layers

    def layers_of(picked: Sequence[tuple[str, ...]]) -> tuple[str, ...]:
        return tuple(layer for candidate in picked for layer in candidate)

    while len(chosen) < limit:
        options = [c for c in candidates if c not in chosen]
        if not options:
            break
        gains = {
            c: recipe_metrics(select_id, select_ood, LayerRecipe(layers_of([*chosen, c]), aggregation, k)).loc[
                "Average", "auroc"
            ]
            for c in options
        }
        candidate, value = max(gains.items(), key=lambda item: item[1])
        if value <= best:
            break
        chosen.append(candidate)
        history.append(float(value))
        best = value
    report_id = _rows(id_channels, id_report)
    report_ood = {t: _rows(ch, halves[t][1]) for t, ch in ood_channels.items()}
    return SubsetSearch(
        layers_of(chosen),
        tuple(history),
        recipe_metrics(report_id, report_ood, LayerRecipe(layers_of(chosen), aggregation, k)),
        recipe_metrics(report_id, report_ood, LayerRecipe(None, "mean_square")),
        tuple(chosen),
    )
