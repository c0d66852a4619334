"""The paper's benchmarks and OpenOOD v1.5's, by name, and turning a dataset name into a dataset."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import Tensor

from gaia_core.data.arrays import demo_dataset
from gaia_core.data.base import DataError, DatasetNotFound, ImageLoader, ScoreDataset
from gaia_core.data.files import image_folder, image_list
from gaia_core.data.sources import SOURCES, open_source
from gaia_core.data.transforms import array_transform, image_transform
from gaia_core.demo.data import DEMO_SETS
from gaia_core.models import ModelSpec


@dataclass(frozen=True)
class Preset:
    """An ID set and its OOD sets, as one benchmark table."""

    # Registry key (--benchmark).
    name: str
    # Model family it is meant for ("demo", "cifar" or "imagenet").
    family: str
    # One line for listings.
    title: str
    # Dataset name of the in-distribution test set.
    id_set: str
    # (group, dataset names) pairs; one unnamed group ("") when the benchmark has no near/far split.
    ood_groups: tuple[tuple[str, tuple[str, ...]], ...]
    # Classes of the ID set (a model must output this many).
    num_classes: int
    # How OOD images larger than the input are cut to size (see `gaia_core.data.transforms.CROP_RULES`).
    crop: str = "resize"

    @property
    def ood_sets(self) -> tuple[str, ...]:
        return tuple(name for _, names in self.ood_groups for name in names)

    @property
    def groups(self) -> dict[str, list[str]]:
        """Named groups (near / far) -> dataset names; {} when the benchmark has none."""
        return {group: list(names) for group, names in self.ood_groups if group}


def _openood(benchmark: str, sets: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"openood:{benchmark}/{s}" for s in sets)


# The authors' Places for CIFAR is the 10,000-image Places subset of the ImageNet OOD benchmark ("places").
_CIFAR_OOD = (("", ("svhn", "lsun", "tinyimagenet", "places", "dtd")),)

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "demo",
            "demo",
            "Demo: handwritten digits vs letters, photos, textures, noise, shifted digits",
            "digits",
            (("", ("letters", "natural", "textures", "noise", "shifted")),),
            10,
        ),
        Preset(
            "cifar10",
            "cifar",
            "GAIA paper: CIFAR-10 vs SVHN, LSUN, TinyImageNet, Places, Textures",
            "cifar10",
            _CIFAR_OOD,
            10,
            crop="center",
        ),
        Preset(
            "cifar100",
            "cifar",
            "GAIA paper: CIFAR-100 vs SVHN, LSUN, TinyImageNet, Places, Textures",
            "cifar100",
            _CIFAR_OOD,
            100,
            crop="center",
        ),
        Preset(
            "imagenet",
            "imagenet",
            "GAIA paper: ImageNet-1k vs iNaturalist, SUN, Places, Textures",
            "imagenet",
            (("", ("inaturalist", "sun", "places", "dtd")),),
            1000,
        ),
        *(
            Preset(
                f"openood-{bench}",
                "cifar",
                f"OpenOOD v1.5 {title}: near- and far-OOD",
                f"openood:{bench}/{bench}",
                (
                    ("near", _openood(bench, (near, "tin"))),
                    ("far", _openood(bench, ("mnist", "svhn", "texture", "places365"))),
                ),
                classes,
            )
            for bench, title, near, classes in (
                ("cifar10", "CIFAR-10", "cifar100", 10),
                ("cifar100", "CIFAR-100", "cifar10", 100),
            )
        ),
        *(
            Preset(
                f"openood-{bench}",
                "imagenet",
                f"OpenOOD v1.5 {title}: near- and far-OOD",
                f"openood:{bench}/{bench}",
                (
                    ("near", _openood(bench, ("ssb_hard", "ninco"))),
                    ("far", _openood(bench, ("inaturalist", "textures", "openimage_o"))),
                ),
                classes,
            )
            for bench, title, classes in (("imagenet200", "ImageNet-200", 200), ("imagenet", "ImageNet-1k", 1000))
        ),
    )
}


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise DataError(f"unknown benchmark '{name}'; available: {', '.join(PRESETS)}") from None


def check_preset_fits(preset: Preset, spec: ModelSpec) -> None:
    """Raise `DataError` when the benchmark is meant for another model family."""
    if preset.family != spec.family:
        fitting = [p.name for p in PRESETS.values() if p.family == spec.family]
        raise DataError(
            f"benchmark '{preset.name}' is for {preset.family} models, but '{spec.name}' is a {spec.family} model; "
            f"pick a {spec.family} benchmark ({', '.join(fitting)})."
        )


# ID set -> its training split, where one is known.
TRAIN_SPLITS = {"digits": "digits-train", "cifar10": "cifar10-train", "cifar100": "cifar100-train"}


def default_fit_set(id_name: str) -> str:
    """The data that methods needing a fit (ReAct's clipping percentile) are fitted on unless
    the user names some: the ID set's training split where one is known, else the ID set
    itself (ImageNet-1k, folders, image lists: its train split is rarely on disk)."""
    return TRAIN_SPLITS.get(id_name, id_name)


def resolve_dataset(
    text: str,
    spec: ModelSpec,
    *,
    data_root: str | Path = "data",
    download: bool = False,
    loader: ImageLoader | None = None,
    crop: str = "resize",
    transform: Callable[[Any], Tensor] | None = None,
    roots: Sequence[Path] | None = None,
) -> ScoreDataset:
    """The dataset a name stands for, preprocessed for the model ``spec``.

    Accepted: a demo set ("digits", "letters", ..., "digits-train"); a named dataset (see
    `gaia_core.data.sources.SOURCES`) or ``openood:<benchmark>/<set>`` under ``data_root``; a
    folder of images; an image-list file (``<path> <label>`` lines, paths relative to
    ``data_root``). ``crop`` is the crop rule for image files (see
    `gaia_core.data.transforms.CROP_RULES`; a preset's ``crop``). Relative paths are tried as given, then under ``data_root``.
    Demo sets and named datasets never share a name (DTD is "dtd", the demo's textures "textures").

    Args:
        transform: PIL image -> model input for image files and uint8 arrays, in place of
            ``image_transform(spec, crop)`` (a stated preprocessing's `config_transform`); the
            demo's float arrays always use ``array_transform(spec)``.
        roots: resolved allowed folders: no file of a folder or list outside them is read (the app's).

    Raises:
        DatasetNotFound: nothing by that name, or it is not on disk (the message says where to put it).
    """
    name, _, split = text.partition("-")
    is_demo_set = name in DEMO_SETS and split in ("", "train", "test")
    if is_demo_set and (spec.family == "demo" or text not in SOURCES):
        return demo_dataset(name, split or "test", array_transform(spec))
    images = image_transform(spec, crop) if transform is None else transform
    if text in SOURCES or text.startswith("openood:"):
        try:
            return open_source(text, data_root, images, download=download, loader=loader)
        except KeyError as err:
            raise DatasetNotFound(str(err.args[0])) from None
    root = Path(data_root).expanduser()
    path = Path(text).expanduser()
    if not path.exists() and not path.is_absolute() and (root / path).exists():
        path = root / path
    if path.is_dir():
        return image_folder(path, images, loader=loader, roots=roots)
    if path.is_file():
        return image_list(path, root, images, loader=loader, roots=roots)
    raise DatasetNotFound(
        f"no dataset '{text}': give a demo set ({', '.join(DEMO_SETS)}), a named dataset "
        f"({', '.join(SOURCES)}, openood:<benchmark>/<set>), a folder of images or an image-list file "
        f"(looked for the path as given and under the data root {root})."
    )
