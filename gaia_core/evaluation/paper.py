"""The GAIA paper's protocol as one command: its models, preprocessing and OOD sets per setting.

``python -m gaia_core evaluate --paper <cifar10|cifar100|imagenet>`` evaluates each of the
setting's models on the setting's benchmark (the paper presets: CIFAR OOD images centre-cropped
to 32 at full resolution, the authors' Places subset, CIFAR-100's own mean/std), and prints the
metrics in two conventions: ours (`metrics.ood_metrics`) and the authors' (`authors_metrics`).

The paper's published numbers are not printed: none of its tables could be quoted from the
paper's own text here, and a number that cannot be quoted is left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from gaia_core.data.base import DatasetNotFound
from gaia_core.evaluation.authors_metrics import authors_ood_metrics


@dataclass(frozen=True)
class PaperModel:
    """One model of a paper setting and the checkpoint file it is read from."""

    # Registry name (see `gaia_core.models.available_models`).
    model: str
    # File name under the checkpoint folder (--checkpoint-dir).
    checkpoint: str
    # Classes of the checkpoint.
    num_classes: int


@dataclass(frozen=True)
class PaperSetting:
    """A setting of the paper: a benchmark preset and the models evaluated on it."""

    # Benchmark preset (`gaia_core.data.PRESETS`).
    benchmark: str
    # The models, in the paper's order.
    models: tuple[PaperModel, ...]


PAPER_SETTINGS: dict[str, PaperSetting] = {
    "cifar10": PaperSetting(
        "cifar10",
        (PaperModel("cifar_resnet34", "cifar10_resnet34.pth", 10), PaperModel("wrn40_2", "cifar10_wrn40_2.pth", 10)),
    ),
    "cifar100": PaperSetting(
        "cifar100",
        (
            PaperModel("cifar_resnet34", "cifar100_resnet34.pth", 100),
            PaperModel("wrn40_2", "cifar100_wrn40_2.pth", 100),
        ),
    ),
    "imagenet": PaperSetting("imagenet", (PaperModel("bit_s_r101x1", "BiT-S-R101x1.npz", 1000),)),
}


def missing_files(setting: PaperSetting, data_root: str | Path, checkpoint_dir: str | Path) -> list[str]:
    """What the setting needs that is not on disk: checkpoint paths, then dataset locations."""
    from gaia_core.data import default_fit_set, get_preset
    from gaia_core.data.preprocessing import load_set
    from gaia_core.data.sources import SOURCES
    from gaia_core.models import get_spec

    missing = [str(Path(checkpoint_dir) / m.checkpoint) for m in setting.models if not _exists(checkpoint_dir, m)]
    preset = get_preset(setting.benchmark)
    spec = get_spec(setting.models[0].model)
    names = [preset.id_set, *preset.ood_sets]
    if setting.benchmark != "imagenet":
        names.append(default_fit_set(preset.id_set))  # ReAct is fitted on the training split
    for name in names:
        try:
            load_set(name, spec, setting.benchmark, data_root=data_root)
        except DatasetNotFound:
            missing.append(f"{Path(data_root) / SOURCES[name].location}" if name in SOURCES else name)
    return missing


def _exists(checkpoint_dir: str | Path, model: PaperModel) -> bool:
    return (Path(checkpoint_dir) / model.checkpoint).is_file()


def authors_table(result, method: str) -> pd.DataFrame:
    """One method's metrics (percent) per OOD set in the authors' convention, with their average.

    Args:
        result: a `gaia_core.evaluation.ood_tables.BenchmarkResult`.
    """
    rows = {
        title: authors_ood_metrics(result.id_scores.scores(method), scores.scores(method))
        for title, scores in result.ood_scores.items()
    }
    table = 100 * pd.DataFrame(rows).T[["fpr95", "auroc", "aupr_in", "aupr_out"]]
    table.loc["Average"] = table.mean()
    table.columns = ["FPR95", "AUROC", "AUPR-In", "AUPR-Out"]
    return table


def authors_report(result) -> str:
    """Every method's table in the authors' convention (their ``cal_metric``), as text."""
    blocks = [
        f"{method} · authors' convention (their cal_metric: FPR above the 5% ID order statistic, trapezoid AUPR)\n"
        + authors_table(result, method).to_string(float_format=lambda v: f"{v:6.2f}")
        for method in result.methods
    ]
    return "\n\n".join(blocks)
