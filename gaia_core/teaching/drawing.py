"""A drawing (bright strokes on a dark canvas) brought to the demo's input as the demo's data are made."""

from __future__ import annotations

import numpy as np
from PIL import Image

from gaia_core.demo.data import to_8x8, upscale_8x8
from gaia_core.errors import GaiaError

# The digits' glyphs fill most of their 8x8 box; the drawing's bounding square is widened by this factor.
FRAME_MARGIN = 1.15


class EmptyDrawingError(GaiaError, ValueError):
    """The canvas has nothing drawn on it."""


def drawing_to_demo_pixels(rgba: np.ndarray) -> np.ndarray:
    """Demo image of a drawing: framed on its strokes, area-averaged to 8x8 and quantized like the
    digits, then upscaled to 32x32 with `gaia_core.demo.data.upscale_8x8`.

    Args:
        rgba: (H, W, 4) or (H, W, 3) uint8 canvas; strokes are where it is bright (and opaque).

    Returns:
        float32 (1, 32, 32) pixels in [0, 1], bright strokes on black.
    """
    array = np.asarray(rgba)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise GaiaError(f"a drawing is an (H, W, 3 or 4) image, got shape {array.shape}")
    gray = array[..., :3].astype(np.float64).mean(axis=2)
    if array.shape[2] == 4:
        gray = gray * array[..., 3] / 255.0
    picture = Image.fromarray(np.clip(gray, 0, 255).astype(np.uint8), mode="L")
    box = picture.getbbox()
    if box is None:
        raise EmptyDrawingError("the canvas is empty; draw a digit, a letter or a scribble first")
    left, top, right, bottom = box
    side = max(right - left, bottom - top) * FRAME_MARGIN
    cx, cy = (left + right) / 2, (top + bottom) / 2
    framed = picture.crop(tuple(round(v) for v in (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)))
    return upscale_8x8(to_8x8(framed)[None])[0]
