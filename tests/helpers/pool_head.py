"""A model factory (``helpers.pool_head:build``) whose classifier is SqueezeNet's pooling head: a 1x1
convolution to the classes on the 8x8 map, then the pool. GradNorm and ReAct find no linear map on
pooled features in it; every other method scores it."""

from torch import nn


class PoolHead(nn.Module):
    def __init__(self, num_classes: int = 10):
        super().__init__()
        # Preprocessing stated the timm way: the demo's 32x32 sets fed as they are, in colour.
        self.pretrained_cfg = {"input_size": (3, 32, 32), "mean": (0.5,) * 3, "std": (0.25,) * 3, "crop_pct": 1.0}
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
            nn.Conv2d(8, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        )  # fmt: skip
        self.classifier = nn.Sequential(nn.Conv2d(8, num_classes, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1))

    def forward(self, x):
        return self.classifier(self.features(x)).flatten(1)


def build(num_classes: int = 10) -> nn.Module:
    return PoolHead(num_classes)
