"""Input normalization belongs to the data a checkpoint was trained on, not to the architecture.

The CIFAR architectures are registered with CIFAR-10's statistics; a CIFAR-100 checkpoint was
trained on inputs normalized with CIFAR-100's. `spec_for_id_set` picks the statistics of the
ID set being evaluated (the data the checkpoint was trained on) so that they are never silently
inherited from CIFAR-10. `gaia_core.data.preprocessing.input_transform` applies it for every entry point.
"""

from __future__ import annotations

import dataclasses

from gaia_core.models.registry import CIFAR_MEAN, CIFAR_STD, ModelSpec

CIFAR100_MEAN = (0.5071, 0.4867, 0.4408)
CIFAR100_STD = (0.2675, 0.2565, 0.2761)

# ID set name -> (mean, std) of the training data of checkpoints evaluated on it (CIFAR family).
TRAINING_NORMALIZATION: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "cifar10": (CIFAR_MEAN, CIFAR_STD),
    "cifar100": (CIFAR100_MEAN, CIFAR100_STD),
    "openood:cifar100/cifar100": (CIFAR100_MEAN, CIFAR100_STD),
}


def spec_for_id_set(spec: ModelSpec, id_set: str) -> ModelSpec:
    """``spec`` with the mean/std of the data behind ``id_set`` (CIFAR models only; others unchanged)."""
    if spec.family != "cifar" or id_set not in TRAINING_NORMALIZATION:
        return spec
    mean, std = TRAINING_NORMALIZATION[id_set]
    return dataclasses.replace(spec, mean=mean, std=std)
