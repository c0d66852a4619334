"""Pictures to pixels and back, for the "What if?" page."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from gaia_core.data.naming import DemoSample
from gaia_core.data.transforms import MatchChannels, ResizeIfNeeded
from gaia_core.demo.data import load_demo_set


def picture_to_pixels(picture: Image.Image, channels: int, size: int) -> np.ndarray:
    """A decoded picture as float32 (channels, size, size) pixels in [0, 1] (bilinear resize)."""
    mode = "L" if channels == 1 else "RGB"
    picture = picture.convert(mode).resize((size, size), Image.Resampling.BILINEAR)
    array = np.asarray(picture, dtype=np.float32) / 255.0
    return array[None] if channels == 1 else array.transpose(2, 0, 1)


def sample_pixels(sample: DemoSample) -> np.ndarray:
    """A demo sample's own pixels, float32 (1, 32, 32) in [0, 1]: image ``sample.index`` of its demo
    set, exactly as every page that scores the set feeds it (its PNG is an 8-bit rounding of them,
    and scores a little differently)."""
    return load_demo_set(sample.set_name)[0][sample.index]


def fit_pixels(pixels: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """(C, H, W) pixels brought to ``shape`` (C', S, S): grey repeated to colour or colour averaged to
    grey, then resized (bilinear) as the model's array transform does; unchanged when they fit."""
    channels, height, width = shape
    if height != width:
        raise ValueError(f"fit_pixels brings images to a square, got shape {tuple(shape)}")
    image = MatchChannels(channels)(torch.as_tensor(np.asarray(pixels, dtype=np.float32)))
    return ResizeIfNeeded(height)(image).numpy()


def pixels_to_uint8(pixels: np.ndarray) -> np.ndarray:
    """(C, H, W) pixels in [0, 1] -> (H, W) or (H, W, 3) uint8 for display."""
    array = np.clip(np.asarray(pixels) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return array[0] if array.shape[0] == 1 else array.transpose(1, 2, 0)
