"""The models and batches the benchmark times (random weights, randomized norm statistics)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import timm
import torch
import torchvision
from torch import nn

from gaia_core.models.bit import bit_s_r101x1
from gaia_core.models.cifar_resnet import cifar_resnet18


@dataclass(frozen=True)
class BenchCase:
    """One model and batch to time."""

    # Label in the report.
    name: str
    # Builds the model (random weights).
    build: Callable[[], nn.Module]
    # Input batch size and square side.
    batch: int
    size: int


CASES = (
    BenchCase("cifar_resnet18 32x32 b64", lambda: cifar_resnet18(10), 64, 32),
    BenchCase("resnet50 224x224 b16", lambda: torchvision.models.resnet50(num_classes=1000), 16, 224),
    BenchCase("timm:resnet50 224x224 b16", lambda: timm.create_model("resnet50", pretrained=False), 16, 224),
    # BiT-style ResNetV2: pre-activation, weight-standardised convs, fused GroupNorm+ReLU taps.
    BenchCase("timm:resnetv2_50x1_bit 224x224 b16", lambda: timm.create_model("resnetv2_50x1_bit"), 16, 224),
    # The paper's ImageNet model at the paper's resolution (slow on a CPU: not a default there).
    BenchCase("bit_s_r101x1 480x480 b16", bit_s_r101x1, 16, 480),
)
# Cases run when --cases is not given, by device type.
DEFAULT_CASES = {"cpu": (0, 1, 2, 3), "cuda": (0, 1, 2, 3, 4)}


def randomize_norms(model: nn.Module) -> nn.Module:
    """Random batch-norm affine parameters and running statistics (seeded), so that scores differ."""
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(0.5 + torch.rand(m.weight.shape, generator=g))
                m.bias.copy_(0.3 * torch.randn(m.bias.shape, generator=g))
                m.running_mean.copy_(0.2 * torch.randn(m.running_mean.shape, generator=g))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=g))
    return model
