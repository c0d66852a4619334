"""DemoResNet: a small torchvision-style ResNet for 1-channel 32x32 digits.

It is built from torchvision's own `BasicBlock` (in-place ReLU, ``out += identity``) and
uses torchvision's module names (conv1, bn1, relu, layer1..layer4, avgpool, fc), so GAIA's
ResNet defaults apply unchanged: inner norm layers in layer3/layer4, feature map ``layer4``,
classifier head ``fc``.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn
from torchvision.models.resnet import BasicBlock

DEMO_WIDTHS = (16, 32, 64, 128)
DEMO_BLOCKS = (1, 1, 1, 1)
DEMO_NUM_CLASSES = 10


class DemoResNet(nn.Module):
    """ResNet with a 3x3 stride-1 stem and no max-pool, for small grayscale images.

    Spatial sizes for a 32x32 input: layer1 32x32, layer2 16x16, layer3 8x8, layer4 4x4.

    Args:
        widths: output channels of layer1..layer4.
        blocks: BasicBlocks per stage.
        in_channels: channels of the input image.
        num_classes: logits of ``fc``.
    """

    def __init__(
        self,
        widths: Sequence[int] = DEMO_WIDTHS,
        blocks: Sequence[int] = DEMO_BLOCKS,
        in_channels: int = 1,
        num_classes: int = DEMO_NUM_CLASSES,
    ) -> None:
        super().__init__()
        if len(widths) != 4 or len(blocks) != 4:
            raise ValueError(f"DemoResNet needs 4 stages; got widths={tuple(widths)}, blocks={tuple(blocks)}")
        self.conv1 = nn.Conv2d(in_channels, widths[0], kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        channels = widths[0]
        stages = []
        for stage, (width, count) in enumerate(zip(widths, blocks)):
            stages.append(_make_stage(channels, width, count, stride=1 if stage == 0 else 2))
            channels = width
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)
        _init_like_torchvision(self)

    def forward(self, x: Tensor) -> Tensor:
        """Logits (B, num_classes) of normalized images x (B, in_channels, H, W)."""
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


def build_demo_model() -> DemoResNet:
    """An untrained DemoResNet with the shipped architecture (train mode; the caller decides)."""
    return DemoResNet()


def _make_stage(in_channels: int, width: int, count: int, stride: int) -> nn.Sequential:
    downsample = None
    if stride != 1 or in_channels != width:
        downsample = nn.Sequential(
            nn.Conv2d(in_channels, width, kernel_size=1, stride=stride, bias=False),
            nn.BatchNorm2d(width),
        )
    layers = [BasicBlock(in_channels, width, stride, downsample)]
    layers += [BasicBlock(width, width) for _ in range(count - 1)]
    return nn.Sequential(*layers)


def _init_like_torchvision(model: nn.Module) -> None:
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
