"""Pictures to pixels and back, for the "What if?" page."""

from __future__ import annotations

import numpy as np
from PIL import Image


def picture_to_pixels(picture: Image.Image, channels: int, size: int) -> np.ndarray:
    """A decoded picture as float32 (channels, size, size) pixels in [0, 1] (bilinear resize)."""
    mode = "L" if channels == 1 else "RGB"
    picture = picture.convert(mode).resize((size, size), Image.Resampling.BILINEAR)
    array = np.asarray(picture, dtype=np.float32) / 255.0
    return array[None] if channels == 1 else array.transpose(2, 0, 1)


def pixels_to_uint8(pixels: np.ndarray) -> np.ndarray:
    """(C, H, W) pixels in [0, 1] -> (H, W) or (H, W, 3) uint8 for display."""
    array = np.clip(np.asarray(pixels) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return array[0] if array.shape[0] == 1 else array.transpose(1, 2, 0)
