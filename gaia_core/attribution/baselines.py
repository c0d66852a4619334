"""The reference inputs ("baselines") of Integrated Gradients, DeepLift and Occlusion.

A map explains the change of the target logit from the baseline to the input, so the baseline
decides what the map can show (Sturmfels, Lundberg and Lee, "Visualizing the Impact of Feature
Attribution Baselines", Distill 2020): a constant image (zeros in the normalized input space are
the data's mean image) hides whatever equals that constant; the input blurred keeps its colours
and removes its edges; uniform noise has no structure of its own. Every baseline is (B, C, H, W)
in the model's normalized units, one per input, and never depends on the rest of the batch.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

# "constant": every pixel `baseline` (0 = zeros); "blurred": the input under a Gaussian blur;
# "uniform_noise": uniform noise between the input's own per-channel minimum and maximum.
BASELINE_TYPES = ("constant", "blurred", "uniform_noise")


def baseline_tensor(x: Tensor, baseline: float | tuple[float, ...]) -> Tensor:
    """The constant reference image (B, C, H, W) in normalized units, shaped like x."""
    values = torch.as_tensor(baseline, dtype=x.dtype, device=x.device).reshape(1, -1, 1, 1)
    return values.expand_as(x).contiguous()


def blurred(x: Tensor, sigma_fraction: float) -> Tensor:
    """Each input under a Gaussian blur (B, C, H, W), edges padded by replication.

    Args:
        x: (B, C, H, W) inputs.
        sigma_fraction: the blur's standard deviation as a fraction of the shorter image side.
    """
    sigma = sigma_fraction * min(x.shape[-2:])
    radius = max(1, math.ceil(3 * sigma))
    offsets = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    kernel = kernel / kernel.sum()
    channels = x.shape[1]
    out = x
    for shape, pad in (((1, -1), (radius, radius, 0, 0)), ((-1, 1), (0, 0, radius, radius))):
        weight = kernel.reshape(1, 1, *shape).expand(channels, 1, -1, -1)
        out = F.conv2d(F.pad(out, pad, mode="replicate"), weight, groups=channels)
    return out.contiguous()


def uniform_noise(x: Tensor, seed: int | None) -> Tensor:
    """Uniform noise (B, C, H, W) between each input's own per-channel minimum and maximum.

    One noise pattern, drawn from a private generator seeded with ``seed`` (None: a fresh draw),
    is scaled to every input's range, so an input's baseline does not depend on its batch.
    """
    generator = torch.Generator(device="cpu")
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed)
    pattern = torch.rand((1, *x.shape[1:]), generator=generator).to(x.device, x.dtype)
    low = x.amin(dim=(2, 3), keepdim=True)
    high = x.amax(dim=(2, 3), keepdim=True)
    return (low + (high - low) * pattern).contiguous()


def baseline_images(
    x: Tensor, baseline_type: str, baseline: float | tuple[float, ...], blur_sigma: float, seed: int | None
) -> Tensor:
    """The reference input of each of ``x`` (B, C, H, W) for one of `BASELINE_TYPES`.

    Args:
        x: (B, C, H, W) normalized inputs.
        baseline_type: "constant", "blurred" or "uniform_noise".
        baseline: the constant's value, one for all channels or one per channel ("constant").
        blur_sigma: the blur's standard deviation, a fraction of the shorter side ("blurred").
        seed: the noise's seed ("uniform_noise").

    Returns:
        (B, C, H, W) detached from ``x``'s graph (a baseline carries no gradient).
    """
    x = x.detach()
    if baseline_type == "blurred":
        return blurred(x, blur_sigma)
    if baseline_type == "uniform_noise":
        return uniform_noise(x, seed)
    return baseline_tensor(x, baseline)
