"""An ID set against OOD sets: every method's metrics per OOD set, and the paper-style tables."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from gaia_core.data.base import LabelMismatchError, ScoreDataset, UnreadableSample
from gaia_core.device import model_device
from gaia_core.errors import ConfigError
from gaia_core.evaluation.metrics import METRICS, ood_metrics
from gaia_core.evaluation.model_facts import remembered
from gaia_core.evaluation.scoring import DatasetScores, evaluate_dataset
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
    """

    id_scores: DatasetScores
    ood_scores: dict[str, DatasetScores]
    methods: list[str]
    groups: dict[str, list[str]]
    metrics: dict[str, dict[str, dict[str, float]]]

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
    **options,
) -> BenchmarkResult:
    """Score the ID set and each OOD set, and compute every method's metrics per OOD set.

    Args:
        ood_datasets: OOD sets; they are named in the result by their ``display_name``.
        groups: group name -> dataset names (or display names) of ``ood_datasets``, for
            near-/far-OOD averages.
        progress: called as ``progress(dataset title, done, total)``.
        options: passed on to `evaluate_dataset` (batch_size, cache, keep_channels, ...).

    Raises:
        LabelMismatchError: the ID labels do not fit the model's classes.
    """
    methods = list(methods)
    if options.get("cache") is not None and options.get("weights_id") is None:
        options["weights_id"] = weights_fingerprint(model)
    check_labels_fit(model, id_dataset, options.get("cache"), options.get("weights_id"))

    def run(dataset: ScoreDataset) -> DatasetScores:
        report = None if progress is None else (lambda done, total: progress(dataset.display_name, done, total))
        return evaluate_dataset(model, dataset, methods, progress=report, **options)

    id_scores = run(id_dataset)
    ood_scores: dict[str, DatasetScores] = {}
    for dataset in ood_datasets:
        if dataset.display_name in ood_scores:
            raise ConfigError(f"two OOD sets are called '{dataset.display_name}'")
        ood_scores[dataset.display_name] = run(dataset)
    titles = {d.name: d.display_name for d in ood_datasets}
    named_groups = {group: [titles.get(n, n) for n in names] for group, names in (groups or {}).items()}
    metrics = {
        m.name: {title: ood_metrics(id_scores.scores(m.name), s.scores(m.name)) for title, s in ood_scores.items()}
        for m in methods
    }
    return BenchmarkResult(id_scores, ood_scores, [m.name for m in methods], named_groups, metrics)


def metrics_table(result: BenchmarkResult, method: str) -> pd.DataFrame:
    """The paper's table for one method: a row per OOD set, group averages and "Average";
    columns FPR95, AUROC, AUPR-In, AUPR-Out in percent."""
    per_set = result.metrics[method]
    rows = {title: [100 * per_set[title][m.key] for m in METRICS] for title in per_set}
    for group, titles in result.groups.items():
        rows[f"{group.capitalize()}-OOD average"] = list(np.mean([rows[t] for t in titles], axis=0))
    rows["Average"] = list(np.mean([rows[t] for t in per_set], axis=0))
    table = pd.DataFrame.from_dict(rows, orient="index", columns=[m.label for m in METRICS])
    table.index.name = "OOD set"
    return table


def summary_table(result: BenchmarkResult) -> pd.DataFrame:
    """One row per method: its average over the OOD sets (percent)."""
    rows = {method_label(m): metrics_table(result, m).loc["Average"] for m in result.methods}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "Method"
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
