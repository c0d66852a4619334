"""One registry of models by name, with the preprocessing each expects."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import torch
from torch import nn
from torchvision.transforms._presets import ImageClassification

from gaia_core.demo import DEMO_WEIGHTS
from gaia_core.demo.data import DEMO_MEAN, DEMO_STD
from gaia_core.demo.model import build_demo_model
from gaia_core.device import best_device
from gaia_core.errors import UnknownNameError
from gaia_core.models import bit, cifar_resnet, factory, torchvision_zoo, wrn
from gaia_core.models.bit import read_bit_checkpoint
from gaia_core.models.checkpoint import HEAD_PREFIXES, CheckpointError, load_state_dict_into, read_state_dict

# `timm_zoo` is imported where a timm model is asked for: importing timm takes seconds, and
# only timm:<name> and factory models need it.

CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2023, 0.1994, 0.2010)  # the pytorch-cifar lineage's values, used by its checkpoints
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


@dataclass(frozen=True)
class ModelSpec:
    """A registered architecture and the input it expects."""

    # Registry key.
    name: str
    # "demo", "cifar" or "imagenet": decides datasets, presets and transforms.
    family: str
    # One line for menus.
    description: str
    # Default number of classes.
    num_classes: int
    # Channels of the input image (1 for the demo, 3 otherwise).
    in_channels: int
    # Height = width of the model's input.
    input_size: int
    # Size the shorter side is resized to before the centre crop (= input_size when no crop).
    resize_size: int
    # Per-channel normalization.
    mean: tuple[float, ...]
    std: tuple[float, ...]
    # num_classes -> untrained model.
    builder: Callable[[int], nn.Module] = field(repr=False, compare=False)
    # Whether pretrained ImageNet weights exist for it (torchvision's, or timm's on the HF hub).
    has_pretrained: bool = False
    # Resampling of the resize ("bilinear", "bicubic", ...); timm models carry their own.
    interpolation: str = "bilinear"
    # Resize straight to input_size x input_size, aspect ratio not kept, no crop (BiT, as the authors).
    squash: bool = False


def _demo_builder(num_classes: int) -> nn.Module:
    model = build_demo_model()
    if num_classes != 10:
        raise CheckpointError("the demo model has 10 classes")
    return model


@cache
def _specs() -> dict[str, ModelSpec]:
    specs = {
        "demo": ModelSpec(
            "demo",
            "demo",
            "Small ResNet trained on scikit-learn's handwritten digits (ships with the app)",
            10,
            1,
            32,
            32,
            (DEMO_MEAN,),
            (DEMO_STD,),
            _demo_builder,
        )
    }
    for depth in (18, 34, 50):
        name = f"cifar_resnet{depth}"
        specs[name] = ModelSpec(
            name,
            "cifar",
            f"CIFAR ResNet-{depth} (32x32; loads the GAIA authors' CIFAR checkpoints)",
            10,
            3,
            32,
            32,
            CIFAR_MEAN,
            CIFAR_STD,
            getattr(cifar_resnet, name),
        )
    for name in torchvision_zoo.IMAGENET_MODELS:
        preprocess = torchvision_zoo.default_weights(name).transforms()
        specs[name] = ModelSpec(
            name,
            "imagenet",
            f"torchvision {name} (ImageNet-1k)",
            1000,
            3,
            int(preprocess.crop_size[0]),
            int(preprocess.resize_size[0]),
            tuple(preprocess.mean),
            tuple(preprocess.std),
            lambda k, name=name: torchvision_zoo.build(name, k),
            has_pretrained=True,
        )
    specs.update(_paper_specs())
    return specs


def _paper_specs() -> dict[str, ModelSpec]:
    """The paper's other models: WRN-40-2 (CIFAR) and BiT-S-R101x1 (ImageNet-1k)."""
    return {
        "bit_s_r101x1": ModelSpec(
            "bit_s_r101x1",
            "imagenet",
            "BiT-S-R101x1 (ImageNet-1k; the authors' BiT-S-R101x1-flat-finetune.pth.tar or Google's BiT-S-R101x1.npz)",
            1000,
            3,
            480,
            480,
            (0.5, 0.5, 0.5),
            (0.5, 0.5, 0.5),
            bit.bit_s_r101x1,
            squash=True,  # the authors' Resize((480, 480))
        ),
        "wrn40_2": ModelSpec(
            "wrn40_2",
            "cifar",
            "WRN-40-2 (32x32; loads the GAIA authors' / Outlier Exposure CIFAR checkpoints)",
            10,
            3,
            32,
            32,
            CIFAR_MEAN,
            CIFAR_STD,
            wrn.wrn40_2,
        ),
    }


def available_models() -> list[str]:
    return list(_specs())


def get_spec(name: str) -> ModelSpec:
    """The spec of a registered name, ``timm:<name>``, or a factory ``package.module:function``."""
    if name in _specs():
        return _specs()[name]
    from gaia_core.models import timm_zoo  # timm: see the note at the top

    if timm_zoo.is_timm_name(name):
        return _timm_spec(timm_zoo.architecture(name))
    if factory.is_factory_name(name):
        return _factory_spec(name)
    raise UnknownNameError(
        f"unknown model '{name}'; available: {', '.join(_specs())}, timm:<name> (any timm model) "
        "or package.module:function (a factory of your own)"
    )


@cache
def _timm_spec(arch: str) -> ModelSpec:
    from gaia_core.models import timm_zoo  # timm: see the note at the top

    config = timm_zoo.data_config(arch)
    size = int(config["input_size"][-1])
    return ModelSpec(
        timm_zoo.PREFIX + arch,
        "imagenet",
        f"timm {arch} (ImageNet-1k; preprocessing from its pretrained configuration)",
        1000,
        int(config["input_size"][0]),
        size,
        timm_zoo.resize_size(config),
        tuple(config["mean"]),
        tuple(config["std"]),
        lambda k, arch=arch: timm_zoo.build(arch, k),
        has_pretrained=timm_zoo.has_pretrained(arch),
        interpolation=str(config.get("interpolation", "bilinear")),
    )


@cache
def _factory_spec(name: str) -> ModelSpec:
    from gaia_core.models import timm_zoo  # timm: see the note at the top

    probe = factory.build(name)
    cfg = getattr(probe, "pretrained_cfg", None)
    config = timm_zoo.resolve_data_config({}, pretrained_cfg=cfg) if isinstance(cfg, dict) else None
    classes = output_classes(probe) or 1000
    if config is None:
        preset = ImageClassification(crop_size=224)
        return ModelSpec(
            name,
            "imagenet",
            f"your factory {name} (no pretrained_cfg on the model: ImageNet preprocessing, 224 after 256)",
            classes,
            3,
            224,
            256,
            tuple(preset.mean),
            tuple(preset.std),
            lambda k: factory.build(name, k),
        )
    size = int(config["input_size"][-1])
    return ModelSpec(
        name,
        "imagenet",
        f"your factory {name} (preprocessing from its pretrained_cfg)",
        classes,
        int(config["input_size"][0]),
        size,
        timm_zoo.resize_size(config),
        tuple(config["mean"]),
        tuple(config["std"]),
        lambda k: factory.build(name, k),
        interpolation=str(config.get("interpolation", "bilinear")),
    )


def output_classes(model: nn.Module) -> int | None:
    """Classes a model outputs: the width of its last nn.Linear (None without one)."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    return linears[-1].out_features if linears else None


def load_model(
    name: str,
    checkpoint: str | Path | None = None,
    *,
    num_classes: int | None = None,
    pretrained: bool = False,
    download: bool = False,
    random_init: bool = False,
    device: torch.device | str | None = None,
) -> nn.Module:
    """A fresh model in eval mode on ``device`` (default: the best available).

    Args:
        name: registry key (see ``available_models()``).
        checkpoint: weights file (.safetensors preferred; .pt/.pth read weights-only).
        num_classes: classes of the checkpoint; default the spec's.
        pretrained: torchvision ImageNet weights from torch hub's cache.
        download: allow downloading those weights when they are not cached.
        random_init: accept an untrained model (tests, benchmarks).
    """
    spec = get_spec(name)
    # Built first: its size bounds what the checkpoint may declare (rebuilt below for another class count).
    model = spec.builder(num_classes or spec.num_classes)
    if checkpoint is not None:
        # BiT's files (Google's .npz, the authors' .pth.tar) use Google's names; the rest our state dicts.
        state = (read_bit_checkpoint if name == "bit_s_r101x1" else read_state_dict)(checkpoint, model=model)
        found = checkpoint_classes(state) if num_classes is None else None
        if found is not None and found != spec.num_classes:
            model = spec.builder(found)
        load_state_dict_into(model, state, Path(checkpoint).name)
    elif name == "demo":
        load_state_dict_into(model, read_state_dict(DEMO_WEIGHTS, model=model), DEMO_WEIGHTS.name)
    elif pretrained and spec.has_pretrained and name.startswith("timm:"):
        from gaia_core.models import timm_zoo  # timm: see the note at the top

        timm_zoo.load_pretrained(model, timm_zoo.architecture(name), download)
    elif pretrained and spec.has_pretrained:
        torchvision_zoo.load_pretrained(model, name, download)
    elif not random_init:
        raise CheckpointError(
            f"{name} needs weights: give a checkpoint file"
            + (" or ask for the pretrained ImageNet weights" if spec.has_pretrained else "")
            + "."
        )
    return model.eval().to(device or best_device())


def checkpoint_classes(state: dict[str, torch.Tensor]) -> int | None:
    """Number of classes of a checkpoint: rows of its classifier weight (the last 2-D weight
    under a classifier-like prefix, else the last 2-D ``*.weight``); None when there is none."""
    weights = [k for k, v in state.items() if k.endswith(".weight") and v.dim() == 2]
    heads = [k for k in weights if k.startswith(HEAD_PREFIXES) or ".fc." in k or "classifier" in k]
    chosen = (heads or weights)[-1:] if (heads or weights) else []
    return int(state[chosen[0]].shape[0]) if chosen else None


def class_label(spec: ModelSpec, num_classes: int, index: int) -> str:
    """A predicted class as a person reads it: "3" (the demo's digits, or classes with no known
    names), "7 · horse" (CIFAR-10), "207 · golden retriever" (ImageNet-1k)."""
    if spec.family == "imagenet" and num_classes == 1000 and spec.name not in torchvision_zoo.IMAGENET_MODELS:
        from gaia_core.models import timm_zoo  # timm: see the note at the top

        label = timm_zoo.imagenet_label(index)
        return f"{index} · {label}" if label else str(index)
    if spec.family == "imagenet" and num_classes == 1000:
        known = spec.name if spec.name in torchvision_zoo.IMAGENET_MODELS else "resnet50"  # same 1000 classes
        categories = torchvision_zoo.default_weights(known).meta.get("categories", [])
        if 0 <= index < len(categories):
            return f"{index} · {categories[index]}"
    if spec.family == "cifar" and num_classes == 10 and 0 <= index < 10:
        return f"{index} · {CIFAR10_CLASSES[index]}"
    return str(index)
