"""An ID set against OOD sets: every method's metrics per OOD set, and the metrics tables every
front-end shows (the command line's paper-style tables, the app's and the report's side-by-side).

One builder, `metric_rows`, turns a method's per-set metrics into rows with the group averages
and the "Average" over every OOD set; fractions or percent is the caller's ``scale``."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from torch import nn

from gaia_core.data.base import EmptyDatasetError, LabelMismatchError, ScoreDataset, UnreadableSample
from gaia_core.device import model_device
from gaia_core.errors import AppSupportError, ConfigError, one_line
from gaia_core.evaluation.metrics import METRIC_KEYS, METRICS, ood_metrics, threshold_at_tpr
from gaia_core.evaluation.model_facts import remembered
from gaia_core.evaluation.results import DatasetScores
from gaia_core.evaluation.scoring import evaluate_dataset
from gaia_core.models import weights_fingerprint
from gaia_core.scores import ScoreMethod, method_label


def model_num_classes(model: nn.Module, dataset: ScoreDataset) -> int | None:
    """Number of logits the model outputs, from one forward pass on a readable sample."""
    if model.training:
        return None
    device = model_device(model)
    for index in range(min(len(dataset), 16)):
        try:
            sample = dataset[index]
        except UnreadableSample:
            continue
        with torch.no_grad():
            return int(model(sample.image[None].to(device)).shape[1])
    return None


# Row of the mean over every OOD set.
AVERAGE = "Average"


def check_labels_fit(model: nn.Module, dataset: ScoreDataset, cache=None, weights_id: str | None = None) -> None:
    """Raise `LabelMismatchError` when the dataset has labels the model cannot predict (the number of
    classes is remembered in ``cache``, a `ScoreCache`, so that a cached rerun runs no model pass)."""
    labels = dataset.labels()
    labels = labels[labels >= 0]
    if labels.size == 0:
        return
    classes = remembered(cache, weights_id, model, "num_classes", lambda: model_num_classes(model, dataset))
    if classes is not None and labels.max() >= classes:
        raise LabelMismatchError(
            f"'{dataset.name}' has labels up to {labels.max()} ({labels.max() + 1} classes) but the model "
            f"outputs {classes} classes: load the checkpoint with its number of classes, or pick the ID set "
            "the model was trained on."
        )


@dataclass
class BenchmarkResult:
    """An ID set against OOD sets, every method's metrics per OOD set.

    Attributes:
        id_scores: the ID set's scores.
        ood_scores: OOD set title -> its scores.
        methods: method names.
        groups: group ("near", "far") -> OOD set titles; {} when ungrouped.
        metrics: method -> OOD set title -> {"fpr95", "auroc", "aupr_in", "aupr_out"} as fractions.
        id_scores_by_set: OOD set title -> the ID set's scores under that set's own methods (the
            paper's per-set layers); a set not listed is compared with ``id_scores``.
    """

    id_scores: DatasetScores
    ood_scores: dict[str, DatasetScores]
    methods: list[str]
    groups: dict[str, list[str]]
    metrics: dict[str, dict[str, dict[str, float]]]
    id_scores_by_set: dict[str, DatasetScores] = field(default_factory=dict)
    # OOD set title -> why none of its images could be read; such a set is left out of the rest.
    unreadable_sets: dict[str, str] = field(default_factory=dict)

    @property
    def id_accuracy(self) -> float | None:
        return self.id_scores.accuracy

    def table(self, method: str) -> pd.DataFrame:
        return metrics_table(self, method)


def evaluate_benchmark(
    model: nn.Module,
    id_dataset: ScoreDataset,
    ood_datasets: Sequence[ScoreDataset],
    methods: Sequence[ScoreMethod],
    *,
    groups: Mapping[str, Sequence[str]] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    set_methods: Mapping[str, Sequence[ScoreMethod]] | None = None,
    **options,
) -> BenchmarkResult:
    """Score the ID set and each OOD set, and compute every method's metrics per OOD set.

    Args:
        ood_datasets: OOD sets; they are named in the result by their ``display_name``.
        groups: group name -> dataset names (or display names) of ``ood_datasets``, for
            near-/far-OOD averages.
        progress: called as ``progress(dataset title, done, total)``.
        set_methods: OOD set name -> the methods (same names) that set and the ID scores it is
            compared with are scored with instead (`gaia_core.evaluation.paper.set_methods`).
        options: passed on to `evaluate_dataset` (batch_size, cache, keep_channels, ...).

    An OOD set none of whose images can be read is left out and named in ``unreadable_sets``: the
    readable sets' results are not lost to it.

    Raises:
        LabelMismatchError: the ID labels do not fit the model's classes.
        EmptyDatasetError: the ID set, or every OOD set, has no readable image.
    """
    methods = list(methods)
    if options.get("cache") is not None and options.get("weights_id") is None:
        options["weights_id"] = weights_fingerprint(model)
    check_labels_fit(model, id_dataset, options.get("cache"), options.get("weights_id"))

    def run(dataset: ScoreDataset, scored_with: Sequence[ScoreMethod] = methods) -> DatasetScores:
        report = None if progress is None else (lambda done, total: progress(dataset.display_name, done, total))
        return evaluate_dataset(model, dataset, list(scored_with), progress=report, **options)

    id_scores = run(id_dataset)
    ood_scores: dict[str, DatasetScores] = {}
    id_by_set: dict[str, DatasetScores] = {}
    unreadable: dict[str, str] = {}
    for dataset in ood_datasets:
        if dataset.display_name in ood_scores:
            raise ConfigError(f"two OOD sets are called '{dataset.display_name}'")
        own = (set_methods or {}).get(dataset.name)
        try:
            ood_scores[dataset.display_name] = run(dataset) if own is None else run(dataset, own)
        except EmptyDatasetError as err:
            unreadable[dataset.display_name] = one_line(err)
            continue
        if own is not None:
            id_by_set[dataset.display_name] = run(id_dataset, own)
    if not ood_scores and unreadable:
        raise EmptyDatasetError(f"no OOD set could be read: {'; '.join(unreadable.values())}")
    titles = {d.name: d.display_name for d in ood_datasets}
    named_groups = {
        group: [t for t in (titles.get(n, n) for n in names) if t not in unreadable]
        for group, names in (groups or {}).items()
    }
    metrics = {
        m.name: {
            title: ood_metrics(id_by_set.get(title, id_scores).scores(m.name), s.scores(m.name))
            for title, s in ood_scores.items()
        }
        for m in methods
    }
    names = [m.name for m in methods]
    return BenchmarkResult(id_scores, ood_scores, names, named_groups, metrics, id_by_set, unreadable)


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


def per_set(scores: Mapping[str, DatasetScores], column: str) -> dict[str, np.ndarray]:
    """Set title -> one table column's values (a method's scores, "sample_id", ...), row order."""
    return {title: s.table[column].to_numpy() for title, s in scores.items()}


def metric_rows(
    per_set: Mapping[str, Mapping[str, float]], groups: Mapping[str, Sequence[str]] | None = None, scale: float = 1.0
) -> dict[str, list[float]]:
    """One method's metrics as table rows: one per OOD set, one per group ("Near-OOD average"),
    then `AVERAGE` over every set; each row's values in `METRICS` order, times ``scale``.

    Args:
        per_set: OOD set title -> {"fpr95", "auroc", "aupr_in", "aupr_out"} as fractions.
        groups: group name -> OOD set titles, for the group averages.
        scale: 1 keeps fractions, 100 gives percent.
    """
    rows = {title: [scale * values[m.key] for m in METRICS] for title, values in per_set.items()}
    for group, titles in (groups or {}).items():
        rows[f"{group.capitalize()}-OOD average"] = list(np.mean([rows[t] for t in titles], axis=0))
    rows[AVERAGE] = list(np.mean([rows[t] for t in per_set], axis=0))
    return rows


def metrics_table(result: BenchmarkResult, method: str, scale: float = 100.0) -> pd.DataFrame:
    """The paper's table for one method: a row per OOD set, group averages and "Average";
    columns FPR95, AUROC, AUPR-In, AUPR-Out, in percent by default (see `metric_rows`)."""
    rows = metric_rows(result.metrics[method], result.groups, scale)
    table = pd.DataFrame.from_dict(rows, orient="index", columns=[m.label for m in METRICS])
    table.index.name = "OOD set"
    return table


def metrics_by_method(
    metrics: Mapping[str, Mapping[str, Mapping[str, float]]], ood_set: str | None = None, scale: float = 1.0
) -> pd.DataFrame:
    """Every method's metrics side by side, for one OOD set or averaged over the OOD sets.

    Args:
        metrics: method -> OOD set -> {"fpr95", "auroc", "aupr_in", "aupr_out"} (fractions), as
            in `BenchmarkResult.metrics`.
        ood_set: one OOD set's name, or None for the mean over all sets (the papers' average).
        scale: 1 keeps fractions (the app), 100 gives percent (the report, the command line).

    Returns:
        index = method names, columns `METRIC_KEYS`.
    """
    rows = {}
    for method, per_set in metrics.items():
        if ood_set is None and not per_set:
            raise AppSupportError("no OOD set was scored; there are no metrics to average")
        if ood_set is not None and ood_set not in per_set:
            raise AppSupportError(f"no metrics for OOD set '{ood_set}'; scored sets: {', '.join(per_set)}")
        rows[method] = metric_rows(per_set, scale=scale)[AVERAGE if ood_set is None else ood_set]
    return pd.DataFrame.from_dict(rows, orient="index", columns=list(METRIC_KEYS))


def summary_table(result: BenchmarkResult) -> pd.DataFrame:
    """One row per method: its average over the OOD sets (percent)."""
    table = metrics_by_method(result.metrics, scale=100.0).rename(columns={m.key: m.label for m in METRICS})
    table.index = pd.Index([method_label(m) for m in table.index], name="Method")
    return table


def format_report(result: BenchmarkResult) -> str:
    """Every method's table as text, then the summary over methods."""
    id_scores = result.id_scores
    accuracy = result.id_accuracy
    id_line = f"ID: {id_scores.title} ({len(id_scores.table)} samples" + (
        f", accuracy {100 * accuracy:.2f}%)" if accuracy is not None else ")"
    )
    blocks = []
    for method in result.methods:
        table = metrics_table(result, method).to_string(float_format=lambda v: f"{v:6.2f}")
        blocks.append(f"{method_label(method)} ({method})  ·  {id_line}\n{table}")
    summary = summary_table(result).to_string(float_format=lambda v: f"{v:6.2f}")
    blocks.append(f"Average over {len(result.ood_scores)} OOD sets  ·  {id_line}\n{summary}")
    return "\n\n".join(blocks)
