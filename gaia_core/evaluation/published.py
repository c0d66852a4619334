"""The published GAIA figures, to show beside the ones this tool measures.

Every figure below is from one source, `SOURCE`. It names the benchmark and the metric, not the
GAIA variant (GAIA-A or GAIA-Z), the model or the metric convention, so each figure is "the
published figure for GAIA on this benchmark". iNaturalist is not listed, and none is derived.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from gaia_core.evaluation.metrics import METRICS
from gaia_core.evaluation.ood_tables import BenchmarkResult, metrics_table
from gaia_core.evaluation.paper import authors_table
from gaia_core.scores import GaiaA, GaiaZ, method_label

SOURCE = (
    "the GAIA paper (Chen et al., NeurIPS 2023) as a public benchmark listing of its results reports it, "
    "naming no GAIA variant, model or metric convention"
)
# The row of a table that averages over the OOD sets (as `metrics_table` names it).
AVERAGE = "Average"


@dataclass(frozen=True)
class PublishedFigure:
    """One published figure."""

    # Benchmark: a preset name (`gaia_core.data.PRESETS`) where the tool has one, else its own name.
    benchmark: str
    # OOD set: a dataset name of that preset (or the benchmark's own split), or AVERAGE over them.
    ood_set: str
    # Metric key (`gaia_core.evaluation.metrics.METRICS`).
    metric: str
    # Percent.
    value: float


PUBLISHED: tuple[PublishedFigure, ...] = (
    PublishedFigure("imagenet", "sun", "fpr95", 31.24),
    PublishedFigure("imagenet", "places", "fpr95", 48.55),
    PublishedFigure("imagenet", "dtd", "fpr95", 11.32),
    PublishedFigure("imagenet", AVERAGE, "fpr95", 37.42),
    PublishedFigure("cifar100", AVERAGE, "fpr95", 29.1),
    # A later benchmark that ran GAIA on industrial and medical images: near or below chance there.
    PublishedFigure("MVTec Metal Nut", "dissimilar", "auroc", 45.57),
    PublishedFigure("MVTec Pill", "dissimilar", "auroc", 44.29),
    PublishedFigure("MVTec Pill", "similar", "auroc", 52.05),
    PublishedFigure("ISIC ink artefacts", "similar", "auroc", 68.93),
    PublishedFigure("ISIC ink artefacts", "dissimilar", "auroc", 65.55),
)


def published_figure(benchmark: str, ood_set: str, metric: str) -> float | None:
    """The published figure (percent) for one OOD set (or AVERAGE) of a benchmark; None where none is listed."""
    for figure in PUBLISHED:
        if (figure.benchmark, figure.ood_set, figure.metric) == (benchmark, ood_set, metric):
            return figure.value
    return None


def published_table(
    result: BenchmarkResult, benchmark: str, set_names: Mapping[str, str], metric: str = "fpr95"
) -> pd.DataFrame:
    """GAIA's figures as measured beside the published ones: a row per OOD set and "Average"; a
    column per GAIA method scored, in our convention and in the authors' (`authors_table`), and
    "published" (NaN where none is listed). Percent.

    Args:
        result: the benchmark's result (the methods other than GAIA-A and GAIA-Z are left out).
        benchmark: the preset the result is of (a key of `gaia_core.data.PRESETS`).
        set_names: OOD set title (as in ``result``) -> its dataset name in the preset.
        metric: a metric key of `METRICS`.
    """
    label = next(m.label for m in METRICS if m.key == metric)
    rows = [*result.ood_scores, AVERAGE]
    table = pd.DataFrame(index=pd.Index(rows, name="OOD set"))
    for method in (m for m in result.methods if m in (GaiaA.name, GaiaZ.name)):
        table[method_label(method)] = metrics_table(result, method).loc[rows, label]
        table[f"{method_label(method)} (authors')"] = authors_table(result, method).loc[rows, label]
    names = {**set_names, AVERAGE: AVERAGE}
    table["published"] = [published_figure(benchmark, names.get(row, row), metric) for row in rows]
    return table.astype(float)


def published_report(
    result: BenchmarkResult, benchmark: str, set_names: Mapping[str, str], metric: str = "fpr95"
) -> str:
    """`published_table` as text, headed by the metric and the source; empty cells where none is listed."""
    label = next(m.label for m in METRICS if m.key == metric)
    table = published_table(result, benchmark, set_names, metric)
    text = table.to_string(float_format=lambda v: f"{v:6.2f}", na_rep="")
    return f"GAIA beside the published figures · {label} (%) · published: {SOURCE}\n{text}"
