"""The GAIA paper's protocol as one command: its models, preprocessing, layers and OOD sets per setting.

``python -m gaia_core evaluate --paper <cifar10|cifar100|imagenet>`` evaluates each of the
setting's models on the setting's benchmark (the paper presets: CIFAR OOD images centre-cropped
to 32 at full resolution, the authors' Places subset, CIFAR-100's own mean/std; BiT squashed to
480 x 480), with the layers the authors tap, switched per OOD set where their code switches them
(BiT's GAIA-Z on Textures), and prints the metrics in two conventions: ours (`metrics.ood_metrics`)
and the authors' (`authors_metrics`, their ``cal_metric``).

The published GAIA figures, where one is listed, are printed beside ours
(`gaia_core.evaluation.published`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from gaia_core.data import default_fit_set, get_preset
from gaia_core.data.base import DatasetNotFound
from gaia_core.data.preprocessing import load_set
from gaia_core.data.sources import SOURCES
from gaia_core.evaluation.authors_metrics import authors_ood_metrics
from gaia_core.models import get_spec
from gaia_core.scores.base import ScoreMethod

# The GroupNorms of BiT-S-R101x1's last block (three units), the authors' taps.
BIT_BLOCK4_NORMS = tuple(f"body.block4.unit{u:02d}.gn{i}" for u in (1, 2, 3) for i in (1, 2, 3))
# A method's field that holds the layers it taps.
_LAYER_FIELDS = {"gaia_z": "layers", "gaia_a": "inner_layers"}


@dataclass(frozen=True)
class SetLayers:
    """Layers one method taps on one OOD set only, where the authors' code switches them."""

    # Dataset name of the OOD set ("textures").
    dataset: str
    # Score method ("gaia_z" or "gaia_a").
    method: str
    # Dotted layer names for that set, and for the ID scores it is compared with.
    layers: tuple[str, ...]


@dataclass(frozen=True)
class PaperModel:
    """One model of a paper setting and the checkpoint file it is read from."""

    # Registry name (see `gaia_core.models.available_models`).
    model: str
    # File name under the checkpoint folder (--checkpoint-dir), the one expected first.
    checkpoint: str
    # Classes of the checkpoint.
    num_classes: int
    # Other accepted file names, used when the first is not there, in order.
    alternatives: tuple[str, ...] = ()
    # The authors' per-OOD-set layer switches; () = the same layers for every set.
    set_layers: tuple[SetLayers, ...] = ()


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
    # The authors' checkpoint (GradNorm's layout) first; Google's release reads to the same weights layout.
    "imagenet": PaperSetting(
        "imagenet",
        (
            PaperModel(
                "bit_s_r101x1",
                "BiT-S-R101x1-flat-finetune.pth.tar",
                1000,
                ("BiT-S-R101x1.npz",),
                # Their GAIA-Z on Textures: the last block's GroupNorms and the head's GroupNorm (their
                # before_head.gn, here head.gn) in place of the pooled output.
                set_layers=(SetLayers("textures", "gaia_z", (*BIT_BLOCK4_NORMS, "head.gn")),),
            ),
        ),
    ),
}

# Each paper model's own layer setting, as the authors tap it (`layer_setting`).
_LAYER_SETTINGS = {
    "cifar_resnet34": "GAIA-Z: every batch norm; GAIA-A: the batch norms of layer3 and layer4, F = layer4's output",
    "wrn40_2": "GAIA-Z and GAIA-A: every batch norm; GAIA-A's F = the pooled output (1x1)",
    "bit_s_r101x1": (
        "GAIA-Z and GAIA-A: the GroupNorms of the last block (body.block4), GAIA-Z on Textures also head.gn; "
        "GAIA-A's F = the pooled output (1x1)"
    ),
}


def layer_setting(model_name: str) -> str:
    """The layers GAIA taps by default on a model, in one phrase: the authors' setting for the paper's
    models, the structural default (`gaia_core.scores.taps`) for any other."""
    if model_name in _LAYER_SETTINGS:
        return _LAYER_SETTINGS[model_name]
    return "GAIA-Z: every normalization; GAIA-A: the norms of the last two stages, F = the last feature map"


def set_methods(methods: Sequence[ScoreMethod], set_layers: Sequence[SetLayers]) -> dict[str, list[ScoreMethod]]:
    """OOD set name -> ``methods`` with the authors' per-set layers (for ``evaluate_benchmark``'s
    ``set_methods``); sets without a switch, or whose method is not among ``methods``, are left out."""
    switched: dict[str, list[ScoreMethod]] = {}
    for switch in set_layers:
        current = switched.get(switch.dataset, list(methods))
        if any(m.name == switch.method for m in current):
            field = _LAYER_FIELDS[switch.method]
            switched[switch.dataset] = [
                dataclasses.replace(m, **{field: tuple(switch.layers)}) if m.name == switch.method else m
                for m in current
            ]
    return switched


def missing_files(setting: PaperSetting, data_root: str | Path, checkpoint_dir: str | Path) -> list[str]:
    """What the setting needs that is not on disk: checkpoint paths, then dataset locations."""
    missing = [_expected(checkpoint_dir, m) for m in setting.models if not checkpoint_path(checkpoint_dir, m).is_file()]
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


def checkpoint_path(checkpoint_dir: str | Path, model: PaperModel) -> Path:
    """The model's checkpoint: the first of its accepted names that is on disk, else the first name."""
    paths = [Path(checkpoint_dir) / name for name in (model.checkpoint, *model.alternatives)]
    return next((p for p in paths if p.is_file()), paths[0])


def _expected(checkpoint_dir: str | Path, model: PaperModel) -> str:
    first = str(Path(checkpoint_dir) / model.checkpoint)
    return first + "".join(f" (or {name})" for name in model.alternatives)


def authors_table(result, method: str) -> pd.DataFrame:
    """One method's metrics (percent) per OOD set in the authors' convention, with their average.

    Args:
        result: a `gaia_core.evaluation.ood_tables.BenchmarkResult`.
    """
    id_by_set = getattr(result, "id_scores_by_set", {})  # the ID scores under a set's own layers
    rows = {
        title: authors_ood_metrics(id_by_set.get(title, result.id_scores).scores(method), scores.scores(method))
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
