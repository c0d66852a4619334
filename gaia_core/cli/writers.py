"""Every file the command line writes: the tables as CSV, metrics and scores as JSON, the HTML report,
and the per-layer table of ``layers``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

import gaia_core
from gaia_core.app_support.sets import set_title
from gaia_core.data import ScoreDataset
from gaia_core.evaluation.metrics import METRIC_KEYS, METRICS
from gaia_core.evaluation.ood_tables import BenchmarkResult, metrics_table
from gaia_core.evaluation.scoring import DatasetScores
from gaia_core.models import ModelSpec
from gaia_core.report import ReportOptions, model_source, write_report


def write_csv(result: BenchmarkResult, path: str | Path) -> None:
    """The printed tables as one CSV: method, ood_set, then in percent, the unit in each name,
    "FPR95 (%)", "AUROC (%)", "AUPR-In (%)", "AUPR-Out (%)", "id_accuracy (%)"."""
    accuracy = result.id_accuracy
    units = {m.label: f"{m.label} (%)" for m in METRICS}
    frames = []
    for method in result.methods:
        table = metrics_table(result, method).reset_index().rename(columns={"OOD set": "ood_set", **units})
        table.insert(0, "method", method)
        table["id_accuracy (%)"] = np.nan if accuracy is None else 100 * accuracy
        frames.append(table)
    pd.concat(frames, ignore_index=True).to_csv(path, index=False, float_format="%.4f")


def _samples(scores: DatasetScores) -> dict:
    table = scores.table
    return {column: table[column].tolist() for column in table.columns if column != "dataset"}


def write_json(result: BenchmarkResult, path: str | Path, **about) -> None:
    """Metrics (fractions), ID accuracy, skipped files and every sample's scores; ``about`` (model,
    checkpoint, weights) heads the document."""
    datasets = {"id": result.id_scores, **{f"ood:{t}": s for t, s in result.ood_scores.items()}}
    document = {
        "version": gaia_core.__version__,
        **about,
        "id": result.id_scores.title,
        "ood": list(result.ood_scores),
        "groups": result.groups,
        "methods": result.methods,
        "id_accuracy": result.id_accuracy,
        "metrics": result.metrics,
        "datasets": {
            key: {
                "name": s.name,
                "title": s.title,
                "size": len(s.table) + len(s.skipped),
                "skipped": [{"sample_id": k.sample_id, "path": k.path, "reason": k.reason} for k in s.skipped],
                "samples": _samples(s),
            }
            for key, s in datasets.items()
        },
    }
    Path(path).write_text(json.dumps(document, indent=1))


def write_html(
    result: BenchmarkResult,
    datasets: Sequence[ScoreDataset],
    spec: ModelSpec,
    path: str | Path,
    checkpoint: str = "",
    pretrained: bool = False,
    crop: str = "resize",
    published: pd.DataFrame | None = None,
) -> None:
    """The self-contained HTML report (`gaia_core.report`) of the ID set and the OOD sets
    (``datasets``, in the result's order), images un-normalized with the spec's mean and std; its
    header names the model, the weights file ``checkpoint`` (or ``pretrained``), the preprocessing
    (with the ``crop`` rule the sets were read with) and the sets' titles; ``published``: GAIA beside
    the published figures (the paper's protocol)."""
    titled = dict(zip([result.id_scores.title, *result.ood_scores], datasets))
    titles = {s.title: set_title(s.name) for s in (result.id_scores, *result.ood_scores.values())}
    write_report(
        result,
        titled,
        spec.mean,
        spec.std,
        path,
        ReportOptions(published=published),
        source=model_source(spec, checkpoint, pretrained, titles, crop),
    )


def write_layers_csv(per_layer: pd.DataFrame, path: str | Path) -> None:
    """``layers``' per-layer table as CSV, its metrics in percent with the unit in their names ("auroc (%)")."""
    table = per_layer.copy()
    table[list(METRIC_KEYS)] = 100 * table[list(METRIC_KEYS)]
    table.rename(columns={key: f"{key} (%)" for key in METRIC_KEYS}).to_csv(path, index=False)
