"""Images as a person sees them: de-normalized model inputs, enlarged without blurring, and
the inputs of some items of a dataset."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image

from gaia_core.data.base import ScoreDataset, UnreadableSample
from gaia_core.data.transforms import denormalize
from gaia_core.errors import AppSupportError


def upscale(rgb: np.ndarray, min_side: int = 128) -> np.ndarray:
    """A uint8 (H, W, 3) image enlarged by a whole factor with nearest neighbour, so its shorter
    side reaches ``min_side`` (pixels stay sharp); images already that large are unchanged."""
    array = np.asarray(rgb)
    factor = max(1, -(-int(min_side) // max(1, min(array.shape[:2]))))
    if factor == 1:
        return array
    image = Image.fromarray(array)
    return np.asarray(image.resize((array.shape[1] * factor, array.shape[0] * factor), Image.NEAREST))


def display_image(x: torch.Tensor, mean: Sequence[float], std: Sequence[float], min_side: int = 128) -> np.ndarray:
    """A model input (C, H, W) as the uint8 (H', W', 3) picture a person sees (de-normalized, upscaled)."""
    return upscale(denormalize(x, mean, std), min_side)


def dataset_inputs(dataset: ScoreDataset, indices: Sequence[int]) -> tuple[torch.Tensor, list[str]]:
    """Model inputs (k, C, H, W) and sample ids of some dataset items; unreadable items are left out."""
    images, ids = [], []
    for index in indices:
        try:
            sample = dataset[int(index)]
        except UnreadableSample:
            continue
        images.append(sample.image)
        ids.append(sample.sample_id)
    if not images:
        raise AppSupportError(f"none of the {len(indices)} requested samples of '{dataset.name}' could be read")
    return torch.stack(images), ids
