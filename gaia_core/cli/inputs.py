"""What the scoring commands read from their options: the model (your factory's failures as
one-line errors), the device, and the ID and OOD set names."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from gaia_core.cli.options import UsageError
from gaia_core.data import check_preset_fits, get_preset
from gaia_core.device import best_device
from gaia_core.errors import GaiaError, one_line
from gaia_core.evaluation import distributed
from gaia_core.models import ModelSpec, get_spec, load_model
from gaia_core.models.factory import FactoryError, is_factory_name


@dataclass(frozen=True)
class ModelChoice:
    """Which model a command scores with, and its weights."""

    # Registry name, timm:<name> or package.module:function.
    name: str
    # Weights file; None = the model's own (the demo's, or --pretrained).
    checkpoint: str | None = None
    # Classes of the checkpoint; None = read from it, else the model's.
    num_classes: int | None = None
    # torchvision's / timm's pretrained ImageNet weights.
    pretrained: bool = False


@contextmanager
def factory_errors(name: str) -> Iterator[None]:
    """A model factory (``package.module:function``) that raises, or takes other arguments than it
    is called with, reported as a one-line `FactoryError` instead of a traceback."""
    try:
        yield
    except (GaiaError, torch.OutOfMemoryError):
        raise
    except Exception as err:
        if not is_factory_name(name):
            raise
        raise FactoryError(
            f"the model factory {name} failed ({type(err).__name__}: {one_line(err)}); it is called as "
            "function(num_classes=K) when it takes num_classes, else as function()"
        ) from err


def model_spec(name: str) -> ModelSpec:
    """The model's spec (a factory is called once to read its preprocessing)."""
    with factory_errors(name):
        return get_spec(name)


def chosen_device(requested: str | None) -> torch.device | str:
    """``--device``, else the local rank's GPU under torchrun, else the best available."""
    if requested:
        return requested
    return distributed.local_device() if distributed.launched_by_torchrun() else best_device()


def load(choice: ModelChoice, device: torch.device | str, download: bool = False) -> nn.Module:
    """The chosen model in eval mode on ``device``, with its weights."""
    with factory_errors(choice.name):
        return load_model(
            choice.name,
            choice.checkpoint,
            num_classes=choice.num_classes,
            pretrained=choice.pretrained,
            download=download,
            device=device,
        )


def set_names(
    spec: ModelSpec, benchmark: str | None, id_set: str | None, ood_sets: Sequence[str] | None
) -> tuple[str, list[str], dict[str, list[str]]]:
    """The ID set's name, the OOD sets' names and the benchmark's groups, from ``--benchmark``,
    ``--id`` and ``--ood`` (the demo model defaults to the demo benchmark)."""
    if benchmark and ood_sets:
        raise UsageError("give either --benchmark or --ood, not both")
    if benchmark:
        preset = get_preset(benchmark)
        check_preset_fits(preset, spec)
        return id_set or preset.id_set, list(preset.ood_sets), preset.groups
    if ood_sets:
        if id_set is None and spec.family != "demo":
            raise UsageError(f"give the ID set with --id (or a --benchmark) for {spec.name}")
        return id_set or get_preset("demo").id_set, list(ood_sets), {}
    if spec.family == "demo":
        preset = get_preset("demo")
        return id_set or preset.id_set, list(preset.ood_sets), {}
    raise UsageError("give the OOD sets with --ood, or a --benchmark")
