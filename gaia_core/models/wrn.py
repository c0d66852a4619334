"""WRN-40-2: the pre-activation Wide ResNet for 32x32 input that the GAIA paper evaluates on CIFAR.

State-dict keys match the Outlier Exposure / Energy code lineage that the GAIA authors' CIFAR
checkpoints come from (``WideResNet(depth=40, num_classes, widen_factor=2, dropRate=0.3)``):
``conv1``, ``block1.layer.0.bn1``, ``block1.layer.0.conv1``, ``block1.layer.0.convShortcut``, ...,
``bn1``, ``fc``. Dropout only acts in training mode, so evaluation ignores the rate.

GAIA taps as the authors define them for this model: GAIA-Z and GAIA-A's inner layers are every
batch norm; GAIA-A's F is the output of the global average pool ``pool`` (B, 128, 1, 1) (the authors
hook their ``AdaptAvgPool``), not the 8x8 map of the final ``bn1`` + ReLU (module ``relu``) it reads.
``gaia_inner_layers`` / ``gaia_feature_layer`` state them; ``feature_map_layer`` names the spatial map.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn


class WideBasicBlock(nn.Module):
    """BN-ReLU-conv3x3-BN-ReLU-(dropout)-conv3x3, plus the input (a 1x1 conv when the shape changes)."""

    def __init__(self, in_planes: int, out_planes: int, stride: int, drop_rate: float = 0.0):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.relu1 = nn.ReLU()
        self.conv1 = nn.Conv2d(in_planes, out_planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_planes)
        self.relu2 = nn.ReLU()
        self.conv2 = nn.Conv2d(out_planes, out_planes, 3, 1, 1, bias=False)
        self.drop_rate = drop_rate
        self.equal_in_out = in_planes == out_planes and stride == 1
        self.convShortcut = None if self.equal_in_out else nn.Conv2d(in_planes, out_planes, 1, stride, 0, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        activated = self.relu1(self.bn1(x))
        out = self.relu2(self.bn2(self.conv1(activated)))
        if self.drop_rate > 0:
            out = F.dropout(out, p=self.drop_rate, training=self.training)
        out = self.conv2(out)
        # The lineage's quirk, kept: a projected shortcut reads the activated input, an identity one the raw input.
        return out + (x if self.equal_in_out else self.convShortcut(activated))


class NetworkBlock(nn.Module):
    def __init__(self, num_layers: int, in_planes: int, out_planes: int, stride: int, drop_rate: float):
        super().__init__()
        self.layer = nn.Sequential(
            *(
                WideBasicBlock(in_planes if i == 0 else out_planes, out_planes, stride if i == 0 else 1, drop_rate)
                for i in range(num_layers)
            )
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.layer(x)


class WideResNet(nn.Module):
    """(B, 3, 32, 32) -> (B, num_classes) logits."""

    # GAIA-A's F as the authors hook it: the pooled output (B, 64 * widen_factor, 1, 1).
    gaia_feature_layer = "pool"
    # The last spatial feature map, the input of the global pool (B, 64 * widen_factor, 8, 8).
    feature_map_layer = "relu"

    def __init__(self, depth: int = 40, num_classes: int = 10, widen_factor: int = 2, drop_rate: float = 0.3):
        super().__init__()
        if (depth - 4) % 6:
            raise ValueError("WideResNet depth must be 6n + 4")
        n = (depth - 4) // 6
        widths = [16, 16 * widen_factor, 32 * widen_factor, 64 * widen_factor]
        self.conv1 = nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)
        self.block1 = NetworkBlock(n, widths[0], widths[1], 1, drop_rate)
        self.block2 = NetworkBlock(n, widths[1], widths[2], 2, drop_rate)
        self.block3 = NetworkBlock(n, widths[2], widths[3], 2, drop_rate)
        self.bn1 = nn.BatchNorm2d(widths[3])
        self.relu = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(widths[3], num_classes)

    @property
    def gaia_inner_layers(self) -> list[str]:
        """GAIA-A's inner layers in the authors' setting for this model: every batch norm."""
        return [name for name, module in self.named_modules() if isinstance(module, nn.BatchNorm2d)]

    def forward(self, x: Tensor) -> Tensor:
        out = self.block3(self.block2(self.block1(self.conv1(x))))
        out = self.relu(self.bn1(out))
        return self.fc(self.pool(out).flatten(1))


def wrn40_2(num_classes: int = 10) -> WideResNet:
    return WideResNet(40, num_classes, widen_factor=2, drop_rate=0.3)
