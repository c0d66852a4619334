"""How a set's images become a model's input: one decision for every entry point.

For a model spec, the benchmark (a preset name, or the ID set when there is none) and the set being
loaded, `input_transform` decides
- the normalization: that of the data the checkpoint was trained on, the benchmark's ID set
  (`gaia_core.models.normalization.spec_for_id_set`: a CIFAR-100 checkpoint gets CIFAR-100's mean/std);
- the crop rule (`gaia_core.data.transforms.CROP_RULES`): the GAIA authors' centre crop at full
  resolution for the paper's CIFAR sets (those of a preset whose ``crop`` is "center") on CIFAR
  models, whichever benchmark or page loads them; "resize" for anything else (uploads, folders);
- the size: the spec's (BiT-S-R101x1 squashed to 480 x 480, as the authors, see ``ModelSpec.squash``).
``evaluate``, ``layers``, ``evaluate --paper``, the app's sets, its uploads and What if? all call it,
so one set gives the same tensors wherever it is loaded. A preprocessing the checkpoint states or the
user enters (`gaia_core.data.input_config.InputConfig`) replaces that decision wherever it is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gaia_core.data.base import ImageLoader, ScoreDataset
from gaia_core.data.input_config import InputConfig, config_transform, with_input_config
from gaia_core.data.presets import PRESETS, resolve_dataset
from gaia_core.data.transforms import array_transform, image_transform
from gaia_core.models import ModelSpec
from gaia_core.models.normalization import spec_for_id_set


@dataclass(frozen=True)
class InputTransform:
    """What `input_transform` decided for one set."""

    # The model's spec with the normalization of the benchmark's training data.
    spec: ModelSpec
    # Crop rule for image files ("resize" or "center").
    crop: str

    @property
    def size(self) -> int:
        """Height = width of the model input."""
        return self.spec.input_size

    def image(self):
        """PIL image -> model input (C, H, W) (`gaia_core.data.transforms.image_transform`)."""
        return image_transform(self.spec, self.crop)

    def array(self):
        """Float image (C, H, W) in [0, 1] -> model input (`gaia_core.data.transforms.array_transform`)."""
        return array_transform(self.spec)


def training_set(benchmark: str) -> str:
    """The ID set whose data a checkpoint evaluated on ``benchmark`` was trained on: a preset's ID
    set, else ``benchmark`` itself (an ID set name)."""
    return PRESETS[benchmark].id_set if benchmark in PRESETS else benchmark


def crop_rule(spec: ModelSpec, set_key: str) -> str:
    """ "center" for the sets of a centre-crop preset of the model's family (the paper's CIFAR sets),
    "resize" otherwise."""
    for preset in PRESETS.values():
        if preset.crop == "center" and preset.family == spec.family and set_key in (preset.id_set, *preset.ood_sets):
            return "center"
    return "resize"


def input_transform(spec: ModelSpec, benchmark: str, set_key: str = "upload") -> InputTransform:
    """The preprocessing of one set for one model.

    Args:
        spec: the model's registered spec.
        benchmark: a preset name (``--benchmark``), or the ID set's name when there is no preset
            (``--id``, the app's ID set); "" = no known training data (the spec's own normalization).
        set_key: the set being loaded, by the name `resolve_dataset` takes ("svhn", a folder, ...);
            "upload" for uploaded or drawn images.
    """
    return InputTransform(spec_for_id_set(spec, training_set(benchmark)), crop_rule(spec, set_key))


def load_set(
    set_key: str,
    spec: ModelSpec,
    benchmark: str,
    *,
    data_root: str | Path = "data",
    download: bool = False,
    loader: ImageLoader | None = None,
    config: InputConfig | None = None,
    roots: Sequence[Path] | None = None,
) -> ScoreDataset:
    """`gaia_core.data.resolve_dataset` with the preprocessing `input_transform` decides, or the
    stated / entered ``config`` when one is given; ``roots``: allowed folders no file may leave."""
    if config is not None:
        return resolve_dataset(
            set_key,
            with_input_config(spec, config),
            data_root=data_root,
            download=download,
            loader=loader,
            transform=config_transform(config),
            roots=roots,
        )
    decided = input_transform(spec, benchmark, set_key)
    return resolve_dataset(
        set_key, decided.spec, data_root=data_root, download=download, loader=loader, crop=decided.crop, roots=roots
    )


def preprocessed_spec(spec: ModelSpec, benchmark: str, config: InputConfig | None = None) -> ModelSpec:
    """The spec a benchmark's sets are preprocessed with (`load_set`): ``config``'s fields when a
    preprocessing is stated or entered, else `input_transform`'s normalization."""
    return with_input_config(spec, config) if config is not None else input_transform(spec, benchmark).spec


def upload_transform(spec: ModelSpec, benchmark: str, config: InputConfig | None = None):
    """PIL image -> model input (C, H, W) for an uploaded or drawn image, preprocessed as `load_set`
    preprocesses the benchmark's sets."""
    return config_transform(config) if config is not None else input_transform(spec, benchmark).image()


def pixel_transform(spec: ModelSpec, benchmark: str, config: InputConfig | None = None):
    """Float pixels (C, H, W) in [0, 1] -> model input, as `load_set` feeds a demo set's own arrays
    (a picked demo sample scores as its set's item, not as its 8-bit PNG)."""
    return array_transform(preprocessed_spec(spec, benchmark, config))
