"""timm classifiers by name (``timm:<name>``): architecture, preprocessing and pretrained weights.

Models are always created with ``pretrained=False``; pretrained weights are read from the
Hugging Face hub cache (where timm itself keeps them) and downloaded only when asked.
Preprocessing comes from the model's own pretrained configuration
(``timm.data.resolve_data_config``): input size, interpolation, crop_pct, mean and std.
"""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path

import timm
from timm.data import ImageNetInfo, create_transform, resolve_data_config
from torch import nn

from gaia_core.errors import UnknownNameError
from gaia_core.models.checkpoint import CheckpointError, read_state_dict

PREFIX = "timm:"
WEIGHTS_FILE = "model.safetensors"
# Convolutional families offered in the app's picker (timm wildcard filters).
CONV_FAMILIES = (
    "resnet*",
    "resnetv2*",
    "wide_resnet*",
    "resnext*",
    "regnet*",
    "convnext*",
    "efficientnet*",
    "tf_efficientnet*",
    "mobilenetv2*",
    "mobilenetv3*",
    "densenet*",
    "vgg*",
    "ghostnet*",
    "rexnet*",
    "dla*",
    "dpn*",
    "hrnet*",
    "inception*",
    "xception*",
    "mixnet*",
    "mnasnet*",
    "fbnet*",
    "repvgg*",
    "cspresnet*",
    "cspdarknet*",
    "darknet*",
    "res2net*",
    "resnest*",
    "seresnet*",
    "skresnet*",
    "nfnet*",
    "dm_nfnet*",
    "bit*",
    "lcnet*",
    "hardcorenas*",
)


@cache
def conv_models() -> tuple[str, ...]:
    """timm's convolutional architectures (names without the ``timm:`` prefix), sorted."""
    return tuple(sorted(set(timm.list_models(list(CONV_FAMILIES)))))


def is_timm_name(name: str) -> bool:
    return name.startswith(PREFIX)


def architecture(name: str) -> str:
    """``timm:resnet50`` -> ``resnet50``, checked against timm's list."""
    arch = name[len(PREFIX) :] if is_timm_name(name) else name
    if not timm.is_model(arch):
        close = timm.list_models(f"*{arch.split('.')[0][:6]}*")[:8]
        raise UnknownNameError(
            f"timm has no model '{arch}'" + (f"; close names: {', '.join(close)}" if close else "") + "."
        )
    return arch


def build(arch: str, num_classes: int = 1000) -> nn.Module:
    return timm.create_model(arch, pretrained=False, num_classes=num_classes)


@cache
def data_config(arch: str) -> dict:
    """The model's own preprocessing: input_size, interpolation, mean, std, crop_pct, crop_mode."""
    return resolve_data_config({}, pretrained_cfg=timm.models.get_pretrained_cfg(arch).to_dict())


def resize_size(config: dict) -> int:
    """Shorter side before the centre crop, as timm computes it: floor(size / crop_pct)."""
    return math.floor(config["input_size"][-1] / config.get("crop_pct", 1.0))


def eval_transform(arch: str):
    """PIL image -> (3, H, W) input, timm's own eval transform for this model."""
    return create_transform(**data_config(arch), is_training=False)


def hub_id(arch: str) -> str | None:
    return timm.models.get_pretrained_cfg(arch).hf_hub_id or None


def has_pretrained(arch: str) -> bool:
    return hub_id(arch) is not None


def cache_folder(arch: str) -> Path:
    from huggingface_hub.constants import HF_HUB_CACHE  # optional for timm: needed for pretrained weights only

    return Path(HF_HUB_CACHE) / ("models--" + hub_id(arch).replace("/", "--"))


def load_pretrained(model: nn.Module, arch: str, download: bool) -> None:
    """timm's pretrained weights from the Hugging Face cache; downloaded only with ``download``."""
    from huggingface_hub import hf_hub_download, try_to_load_from_cache  # optional, as above

    repo = hub_id(arch)
    if repo is None:
        raise CheckpointError(f"timm has no pretrained weights on the Hugging Face hub for {arch}.")
    path = try_to_load_from_cache(repo, WEIGHTS_FILE)
    if not isinstance(path, str):
        if not download:
            raise CheckpointError(
                f"pretrained weights for timm:{arch} are not on disk: expected {WEIGHTS_FILE} of "
                f"https://huggingface.co/{repo} in the Hugging Face cache {cache_folder(arch)} "
                f"(snapshots/<revision>/{WEIGHTS_FILE}). Put it there (huggingface-cli download {repo} "
                f"{WEIGHTS_FILE}), or allow the download (download=True; on the command line --download)."
            )
        try:
            path = hf_hub_download(repo, WEIGHTS_FILE)
        except Exception as err:  # the hub raises many types (HTTP, offline, missing file); all mean the same
            raise CheckpointError(
                f"could not download the timm:{arch} weights ({type(err).__name__}: {err}); "
                f"put {WEIGHTS_FILE} of {repo} into {cache_folder(arch)}"
            ) from None
    model.load_state_dict(read_state_dict(path, model=model), strict=True)


def imagenet_label(index: int) -> str | None:
    """ImageNet-1k class name in timm's (= torchvision's) order."""
    try:
        return ImageNetInfo().index_to_description(index)
    except (IndexError, KeyError):
        return None
