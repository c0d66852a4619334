"""Class names a person reads, and whether a set's labels fit a model's classes.

Names come from, first found wins: a folder set's sub-folder names (`ImageFilesDataset.classes`),
the checkpoint's own list (a sidecar ``<stem>.json``'s or the safetensors metadata's
``"classes"``, see `gaia_core.data.input_config`), the model's built-in list (ImageNet-1k's
for torchvision and timm models with 1000 classes, CIFAR-10's for 10-class CIFAR models).
Everything is read offline.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from gaia_core.data.base import DataError, ScoreDataset, SubsetDataset
from gaia_core.data.input_config import read_safetensors_metadata, read_sidecar, sidecar_path
from gaia_core.data.presets import PRESETS, Preset
from gaia_core.models import ModelSpec
from gaia_core.models.registry import CIFAR10_CLASSES
from gaia_core.models.torchvision_zoo import IMAGENET_MODELS, default_weights

# Shown for a label that is not known (every OOD image).
UNKNOWN = "−"


class ClassNamesError(DataError):
    """A stated class list that does not fit the model."""


def class_names_for(
    dataset: ScoreDataset | None = None,
    spec: ModelSpec | None = None,
    num_classes: int | None = None,
    checkpoint_path: str | Path | None = None,
) -> list[str] | None:
    """Names of classes by index, from the first source that has them (see the module docstring);
    None when none has.

    Args:
        dataset: a set whose labels come from sub-folders (through any subsets).
        spec: the model's spec (its family decides the built-in list).
        num_classes: classes the model outputs; default the spec's.
        checkpoint_path: the checkpoint whose sidecar or metadata may list its classes.

    Raises:
        ClassNamesError: the checkpoint lists a number of names other than ``num_classes``.
    """
    folders = _folder_classes(dataset)
    if folders:
        return folders
    classes = num_classes if num_classes is not None else (spec.num_classes if spec is not None else None)
    if checkpoint_path is not None:
        stated = _stated_classes(Path(checkpoint_path), classes)
        if stated is not None:
            return stated
    return _builtin_classes(spec, classes) if spec is not None and classes is not None else None


def _folder_classes(dataset: ScoreDataset | None) -> list[str] | None:
    while isinstance(dataset, SubsetDataset):
        dataset = dataset.parent
    classes = getattr(dataset, "classes", None)
    return [str(c) for c in classes] if classes else None


def _stated_classes(path: Path, num_classes: int | None) -> list[str] | None:
    sidecar = read_sidecar(path)
    sources = [(f"sidecar {sidecar_path(path).name}", sidecar)]
    if path.is_file():
        sources.append(("the checkpoint's metadata", read_safetensors_metadata(path)))
    for where, document in sources:
        names = (document or {}).get("classes")
        if names is None:
            continue
        if not isinstance(names, list) or not all(isinstance(n, (str, int)) for n in names):
            raise ClassNamesError(f"'classes' in {where} must be a list of names")
        if num_classes is not None and len(names) != num_classes:
            raise ClassNamesError(f"{where} lists {len(names)} class names but the model has {num_classes} classes")
        return [str(n) for n in names]
    return None


def _builtin_classes(spec: ModelSpec, num_classes: int) -> list[str] | None:
    if spec.family == "imagenet" and num_classes == 1000:
        if spec.name.startswith("timm:"):
            from timm.data import ImageNetInfo

            info = ImageNetInfo()
            return [info.index_to_description(i) for i in range(1000)]
        known = spec.name if spec.name in IMAGENET_MODELS else "resnet50"  # the same 1000 classes
        categories = default_weights(known).meta.get("categories", [])
        return list(categories) if len(categories) == 1000 else None
    if spec.family == "cifar" and num_classes == 10:
        return list(CIFAR10_CLASSES)
    return None


def label_text(index: int, names: Sequence[str] | None) -> str:
    """A class as a person reads it: "3 · cat", "3" (no names, or the name is the index), "−" (unknown)."""
    index = int(index)
    if index < 0:
        return UNKNOWN
    if names is None or index >= len(names) or str(names[index]) == str(index):
        return str(index)
    return f"{index} · {names[index]}"


def label_texts(indices: np.ndarray, names: Sequence[str] | None) -> np.ndarray:
    """`label_text` of every index (N,), computed once per distinct index."""
    indices = np.asarray(indices, dtype=np.int64)
    distinct, inverse = np.unique(indices, return_inverse=True)
    texts = np.array([label_text(i, names) for i in distinct], dtype=object)
    return texts[inverse.reshape(indices.shape)]


def labels_fit(dataset: ScoreDataset, num_classes: int) -> str | None:
    """A one-line warning when the set's labels go beyond the model's classes; None when they fit."""
    labels = dataset.labels()
    labels = labels[labels >= 0]
    if labels.size == 0 or labels.max() < num_classes:
        return None
    top = int(labels.max())
    return (
        f"'{dataset.display_name}' has labels up to {top} ({top + 1} classes) but the model has {num_classes} "
        "classes: pick the set the model was trained on, or load the checkpoint with its number of classes."
    )


def sets_that_fit(
    num_classes: int, presets: Mapping[str, Preset] | Iterable[Preset] | None = None, *, family: str | None = None
) -> list[str]:
    """Names of the presets whose ID label space is the model's (``num_classes`` classes), in
    their order; with ``family``, only that model family's presets."""
    chosen = PRESETS if presets is None else presets
    items = chosen.values() if isinstance(chosen, Mapping) else chosen
    return [p.name for p in items if p.num_classes == num_classes and (family is None or p.family == family)]
