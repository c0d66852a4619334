"""Preprocessing that follows the model: what its `ModelSpec` says it was trained on.

- demo: grayscale, 32x32, normalized with the digits' mean and std;
- cifar: RGB, 32x32 by one of two crop rules (``CROP_RULES``): "resize" (the default: shorter side
  resized to 32, then centre-cropped) or "center" (the GAIA authors' protocol: a 32x32 centre crop at
  full resolution, padded with zeros when smaller); the spec's mean and std;
- imagenet: the torchvision weights' own eval transform (resize, centre crop, normalize), timm's
  own for timm models; a spec with ``squash`` (BiT-S-R101x1) is resized straight to its input size,
  aspect ratio not kept, as the GAIA authors do (``Resize((480, 480))``).
Which rule and which normalization a set gets is decided in `gaia_core.data.preprocessing`.
Grayscale images are converted to the model's channel count, and colour ones to grayscale.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor
from torchvision import transforms as T

from gaia_core.data.base import DataError
from gaia_core.models import ModelSpec
from gaia_core.models.torchvision_zoo import IMAGENET_MODELS, default_weights


class ConvertMode:
    """PIL image -> the same image in ``mode`` ("L" or "RGB")."""

    def __init__(self, mode: str):
        self.mode = mode

    def __call__(self, image: Image.Image) -> Image.Image:
        return image if image.mode == self.mode else image.convert(self.mode)

    def __repr__(self) -> str:
        return f"ConvertMode({self.mode!r})"


class MatchChannels:
    """(C, H, W) tensor -> (channels, H, W): grey repeated to RGB, or RGB averaged to grey."""

    def __init__(self, channels: int):
        self.channels = channels

    def __call__(self, image: Tensor) -> Tensor:
        if image.shape[0] == self.channels:
            return image
        if image.shape[0] == 1:
            return image.expand(self.channels, -1, -1).clone()
        if self.channels == 1:
            return image.mean(dim=0, keepdim=True)
        raise DataError(f"cannot turn a {image.shape[0]}-channel image into {self.channels} channels")

    def __repr__(self) -> str:
        return f"MatchChannels({self.channels})"


class ResizeIfNeeded:
    """(C, H, W) tensor -> (C, size, size), bilinear with antialiasing; unchanged when already that size."""

    def __init__(self, size: int):
        self.size = size

    def __call__(self, image: Tensor) -> Tensor:
        if image.shape[-2:] == (self.size, self.size):
            return image
        return F.interpolate(image[None], size=(self.size, self.size), mode="bilinear", antialias=True)[0]

    def __repr__(self) -> str:
        return f"ResizeIfNeeded({self.size})"


def _mode(spec: ModelSpec) -> str:
    return "L" if spec.in_channels == 1 else "RGB"


# Crop rules for models whose spec has no transform of its own (demo, cifar).
CROP_RULES = {
    "resize": "shorter side resized to the input size, then centre-cropped (keeps the whole scene)",
    "center": "centre crop of the input size at full resolution, no resizing (the GAIA authors' CIFAR protocol)",
}


def image_transform(spec: ModelSpec, crop: str = "resize"):
    """PIL image -> model input (C, H, W) float32, for image files and uint8 arrays.

    Args:
        spec: the model's preprocessing.
        crop: "resize" or "center" (see ``CROP_RULES``); ImageNet models use their weights' own transform
            and a ``squash`` spec its resize to input_size x input_size.
    """
    if crop not in CROP_RULES:
        raise DataError(f"unknown crop rule '{crop}'; available: {', '.join(CROP_RULES)}")
    if spec.family == "imagenet":
        if spec.name in IMAGENET_MODELS:
            return T.Compose([ConvertMode(_mode(spec)), default_weights(spec.name).transforms()])
        if spec.name.startswith("timm:"):
            from gaia_core.models.timm_zoo import eval_transform  # timm loads only for timm models

            return T.Compose([ConvertMode(_mode(spec)), eval_transform(spec.name[len("timm:") :])])
    interpolation = T.InterpolationMode(spec.interpolation)
    if spec.squash:
        sizing = [T.Resize((spec.input_size, spec.input_size), interpolation=interpolation, antialias=True)]
    elif crop == "resize":
        sizing = [
            T.Resize(spec.resize_size, interpolation=interpolation, antialias=True),
            T.CenterCrop(spec.input_size),
        ]
    else:
        sizing = [T.CenterCrop(spec.input_size)]
    return T.Compose([ConvertMode(_mode(spec)), *sizing, T.ToTensor(), T.Normalize(spec.mean, spec.std)])


def array_transform(spec: ModelSpec):
    """Float image (C, H, W) in [0, 1] -> model input (in_channels, input_size, input_size)."""
    return T.Compose(
        [MatchChannels(spec.in_channels), ResizeIfNeeded(spec.input_size), T.Normalize(spec.mean, spec.std)]
    )


def denormalize(x: torch.Tensor | np.ndarray, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """Undoes `(image - mean) / std` for display.

    Args:
        x: (C, H, W) or (B, C, H, W) normalized image(s), C = len(mean) = 1 or 3.
        mean: per-channel mean the images were normalized with.
        std: per-channel standard deviation.

    Returns:
        uint8 (H, W, 3) or (B, H, W, 3); a single channel is replicated to grey RGB.
    """
    array = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    if array.ndim not in (3, 4):
        raise DataError(f"denormalize expects (C, H, W) or (B, C, H, W), got shape {array.shape}")
    channels = array.shape[-3]
    if not (len(mean) == len(std) == channels) or channels not in (1, 3):
        raise DataError(
            f"denormalize got {channels} channels, {len(mean)} means and {len(std)} stds; "
            "pass the mean and std of the model spec (one per input channel, 1 or 3 channels)."
        )
    shape = (channels, 1, 1)
    pixels = array.astype(np.float64) * np.reshape(std, shape) + np.reshape(mean, shape)
    rgb = np.rint(np.clip(pixels, 0.0, 1.0) * 255.0).astype(np.uint8)
    rgb = np.moveaxis(rgb, -3, -1)
    return np.repeat(rgb, 3, axis=-1) if channels == 1 else rgb
