"""torchvision ImageNet classifiers, their preprocessing, and their pretrained weights.

Pretrained weights are never downloaded unless asked (``download=True``). Otherwise they are
read from torch hub's checkpoint folder, where torchvision itself caches them.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from gaia_core.models.checkpoint import CheckpointError, read_state_dict

IMAGENET_MODELS = (
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "wide_resnet50_2",
    "densenet121",
    "mobilenet_v3_large",
    "efficientnet_b0",
)


def default_weights(name: str):
    """The torchvision weights enum entry used for preprocessing and pretrained loading."""
    return torchvision.models.get_model_weights(name).DEFAULT


class DenseNetWithFinalReLU(torchvision.models.DenseNet):
    """torchvision's DenseNet with its last ReLU moved into ``features`` (as ``relu5``), so the
    output of ``features`` is exactly the global pool's input F. Same keys, same logits."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = F.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(pooled, 1))


def build(name: str, num_classes: int = 1000) -> nn.Module:
    model = torchvision.models.get_model(name, weights=None, num_classes=num_classes)
    if isinstance(model, torchvision.models.DenseNet):
        model.features.add_module("relu5", nn.ReLU(inplace=False))
        model.__class__ = DenseNetWithFinalReLU
    return model


def cached_weights_path(name: str) -> Path:
    url = default_weights(name).url
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(url).name


def load_pretrained(model: nn.Module, name: str, download: bool) -> None:
    path = cached_weights_path(name)
    if not path.is_file():
        if not download:
            raise CheckpointError(
                f"pretrained weights for {name} are not on disk: expected {path}. "
                f"Put the file from {default_weights(name).url} there (in the app: then press Load model), "
                "or allow the download (on the command line: --pretrained --download; in Python: download=True)."
            )
        try:
            torch.hub.download_url_to_file(default_weights(name).url, str(path), progress=True)
        except OSError as err:
            raise CheckpointError(f"could not download the {name} weights ({err}); put the file at {path}") from None
    state = read_state_dict(path, model=model)
    model.load_state_dict(state, strict=True)
