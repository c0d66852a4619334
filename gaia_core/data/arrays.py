"""In-memory datasets: arrays of images (the demo's sets, torchvision's CIFAR and SVHN)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from gaia_core.data.base import Sample, ScoreDataset, check_not_empty
from gaia_core.data.transforms import array_transform
from gaia_core.demo.data import load_demo_set
from gaia_core.models import get_spec


class ArrayDataset(ScoreDataset):
    """Images held in one array.

    Two layouts:
    - float images (N, C, H, W) in [0, 1]: each item is a tensor passed to ``transform``
      (see `gaia_core.data.transforms.array_transform`);
    - uint8 images (N, H, W, C) or (N, H, W): each item is a PIL image passed to ``transform``
      (see `gaia_core.data.transforms.image_transform`), as torchvision's CIFAR does.

    Sample ids are ``"<name>:<index>"``.
    """

    in_memory = True

    def __init__(self, images: np.ndarray, labels: np.ndarray | None, name: str, transform: Callable[[Any], Tensor]):
        images = np.ascontiguousarray(images)
        if images.dtype == np.uint8:
            if images.ndim not in (3, 4):
                raise ValueError(f"uint8 images must be (N, H, W[, C]), got shape {images.shape}")
        elif images.ndim != 4:
            raise ValueError(f"float images must be (N, C, H, W), got shape {images.shape}")
        self.images = images
        self._labels = (
            np.full(len(images), -1, dtype=np.int64) if labels is None else np.asarray(labels, dtype=np.int64)
        )
        if len(self._labels) != len(images):
            raise ValueError(f"{len(images)} images but {len(self._labels)} labels")
        self.name = name
        self.transform = transform
        check_not_empty(self, "the given array")

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> Sample:
        raw = self.images[index]
        item = Image.fromarray(raw) if raw.dtype == np.uint8 else torch.from_numpy(raw.astype(np.float32, copy=True))
        return Sample(self.transform(item), int(self._labels[index]), f"{self.name}:{index}", "")

    def labels(self) -> np.ndarray:
        return self._labels.copy()

    def _content_digest(self, digest) -> None:
        digest.update(f"{self.images.dtype}|{self.images.shape}|".encode())
        digest.update(memoryview(self.images).cast("B"))
        digest.update(memoryview(np.ascontiguousarray(self._labels)).cast("B"))


def demo_dataset(name: str, split: str = "test", transform: Callable[[Tensor], Tensor] | None = None) -> ArrayDataset:
    """One of the demo's sets (`gaia_core.demo.data.DEMO_SETS`) as a dataset.

    Args:
        name: "digits" (ID), "letters", "natural", "textures", "noise" or "shifted".
        split: "train" or "test" (only "digits" has a train split).
        transform: tensor transform; default the demo model's normalization.
    """
    if transform is None:
        transform = array_transform(get_spec("demo"))
    images, labels = load_demo_set(name, split)
    return ArrayDataset(images, labels, name if split == "test" else f"{name}-{split}", transform)
