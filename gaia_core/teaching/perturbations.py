"""Image perturbations with one strength knob, for watching scores move from ID to OOD.

Each perturbation is a pure function of (image (C, H, W) in [0, 1], strength in [0, 1], seed):
strength 0 returns the image unchanged, larger strengths change it more, and the same seed gives
the same result. They work in pixel space; the model's normalization comes after.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from gaia_core.errors import ConfigError, UnknownNameError


@dataclass(frozen=True)
class Perturbation:
    """One perturbation as the app lists it."""

    # Registry key.
    name: str
    # Short human title.
    title: str
    # What strength 1 means, one line.
    at_full_strength: str
    # (image (C, H, W), strength, seed, other (C, H, W) or None) -> perturbed image (C, H, W) in [0, 1].
    function: Callable[[Tensor, float, int, Tensor | None], Tensor]
    # True when the perturbation needs a second image (``other``).
    needs_other: bool = False


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed))


def gaussian_noise(image: Tensor, strength: float, seed: int, other: Tensor | None = None) -> Tensor:
    """Adds N(0, (0.6 * strength)^2) noise per pixel, clipped to [0, 1]."""
    noise = torch.randn(image.shape, generator=_generator(seed)).to(image)
    return (image + 0.6 * strength * noise).clamp(0, 1)


def blur(image: Tensor, strength: float, seed: int, other: Tensor | None = None) -> Tensor:
    """Gaussian blur with sigma = 4 * strength pixels (reflect padding)."""
    sigma = 4.0 * strength
    if sigma <= 0:
        return image.clone()
    radius = max(1, math.ceil(3 * sigma))
    offsets = torch.arange(-radius, radius + 1, dtype=image.dtype, device=image.device)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    kernel = kernel / kernel.sum()
    channels = image.shape[0]
    x = image[None]
    pad = min(radius, image.shape[-1] - 1, image.shape[-2] - 1)
    kernel = kernel[radius - pad : radius + pad + 1]
    kernel = kernel / kernel.sum()
    x = F.pad(x, (pad, pad, 0, 0), mode="reflect")
    x = F.conv2d(x, kernel.view(1, 1, 1, -1).expand(channels, 1, 1, -1), groups=channels)
    x = F.pad(x, (0, 0, pad, pad), mode="reflect")
    x = F.conv2d(x, kernel.view(1, 1, -1, 1).expand(channels, 1, -1, 1), groups=channels)
    return x[0].clamp(0, 1)


def rotation(image: Tensor, strength: float, seed: int, other: Tensor | None = None) -> Tensor:
    """Rotates by 180 * strength degrees about the centre (bilinear, zeros outside)."""
    angle = math.radians(180.0 * strength)
    cos, sin = math.cos(angle), math.sin(angle)
    theta = torch.tensor([[cos, -sin, 0.0], [sin, cos, 0.0]], dtype=image.dtype, device=image.device)[None]
    grid = F.affine_grid(theta, [1, *image.shape], align_corners=False)
    return F.grid_sample(image[None], grid, mode="bilinear", padding_mode="zeros", align_corners=False)[0].clamp(0, 1)


def contrast(image: Tensor, strength: float, seed: int, other: Tensor | None = None) -> Tensor:
    """Pulls every pixel toward the image's mean: contrast factor 1 - strength (flat at 1)."""
    mean = image.mean(dim=(-2, -1), keepdim=True)
    return (mean + (1.0 - strength) * (image - mean)).clamp(0, 1)


def occlusion(image: Tensor, strength: float, seed: int, other: Tensor | None = None) -> Tensor:
    """Covers a grey square (value 0.5) of side strength * image side, placed by the seed."""
    height, width = image.shape[-2:]
    side_h, side_w = round(strength * height), round(strength * width)
    if side_h == 0 or side_w == 0:
        return image.clone()
    g = _generator(seed)
    top = int(torch.randint(0, height - side_h + 1, (1,), generator=g))
    left = int(torch.randint(0, width - side_w + 1, (1,), generator=g))
    out = image.clone()
    out[..., top : top + side_h, left : left + side_w] = 0.5
    return out


def shuffled_patches(image: Tensor, strength: float, seed: int, other: Tensor | None = None) -> Tensor:
    """Cuts the image into a 4 x 4 grid and swaps a fraction ``strength`` of the patches at random."""
    grid = 4
    height, width = image.shape[-2:]
    ph, pw = height // grid, width // grid
    count = grid * grid
    moved = round(strength * count)
    if moved < 2 or ph == 0 or pw == 0:
        return image.clone()
    g = _generator(seed)
    chosen = torch.randperm(count, generator=g)[:moved]
    # A cyclic shift of the chosen patches moves every one of them.
    order = torch.arange(count)
    order[chosen] = chosen.roll(1)
    out = image.clone()
    for target, source in enumerate(order.tolist()):
        ty, tx, sy, sx = target // grid, target % grid, source // grid, source % grid
        out[..., ty * ph : (ty + 1) * ph, tx * pw : (tx + 1) * pw] = image[
            ..., sy * ph : (sy + 1) * ph, sx * pw : (sx + 1) * pw
        ]
    return out


def blend(image: Tensor, strength: float, seed: int, other: Tensor | None = None) -> Tensor:
    """(1 - strength) * image + strength * other: a straight path toward a second image."""
    if other is None:
        raise ConfigError("the blend needs a second image to blend toward")
    if other.shape != image.shape:
        raise ConfigError(f"the second image is {tuple(other.shape)}, the first {tuple(image.shape)}; they must match")
    return ((1.0 - strength) * image + strength * other.to(image)).clamp(0, 1)


PERTURBATIONS: dict[str, Perturbation] = {
    p.name: p
    for p in (
        Perturbation("noise", "Gaussian noise", "noise with standard deviation 0.6", gaussian_noise),
        Perturbation("blur", "Blur", "Gaussian blur of sigma 4 pixels", blur),
        Perturbation("rotation", "Rotation", "turned upside down (180°)", rotation),
        Perturbation("contrast", "Contrast", "flat grey at the image's mean", contrast),
        Perturbation("occlusion", "Occluding square", "a grey square covering the whole image", occlusion),
        Perturbation("shuffle", "Shuffled patches", "all 16 patches of a 4 × 4 grid moved", shuffled_patches),
        Perturbation("blend", "Blend toward a second image", "the second image", blend, needs_other=True),
    )
}


def perturbation_names() -> list[str]:
    return list(PERTURBATIONS)


def apply(name: str, image: Tensor, strength: float, seed: int = 0, other: Tensor | None = None) -> Tensor:
    """The perturbed image.

    Args:
        name: a key of ``PERTURBATIONS``.
        image: (C, H, W) pixels in [0, 1].
        strength: in [0, 1]; 0 returns the image unchanged.
        seed: fixes the random parts (noise, square position, which patches move).
        other: (C, H, W) second image, for ``blend`` only.

    Returns:
        (C, H, W) perturbed pixels in [0, 1], a new tensor.
    """
    if name not in PERTURBATIONS:
        raise UnknownNameError(f"unknown perturbation '{name}'; choose one of {perturbation_names()}")
    if not 0.0 <= strength <= 1.0:
        raise ConfigError(f"strength must lie in [0, 1], got {strength}")
    if image.dim() != 3:
        raise ConfigError(f"a perturbation takes one image shaped (C, H, W), got {tuple(image.shape)}")
    if strength == 0.0:
        return image.clone()
    return PERTURBATIONS[name].function(image, float(strength), seed, other)
