"""What happened to an uploaded image on its way to the model, in words a person reads.

The guarded decoder (`gaia_core.safety.images.load_image_with_notes`) records what it did (first
frame of an animation, EXIF orientation, 16-bit scaled, transparency composited); the model's
preprocessing (`gaia_core.data.transforms.image_transform`, crop rule "resize") then turns the
picture into the model's input: colour to grey or back, shorter side resized, centre crop.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from gaia_core.data.images import upscale
from gaia_core.models import ModelSpec
from gaia_core.safety.images import LoadedImage


def is_grey(image: Image.Image) -> bool:
    """Whether a decoded picture carries no colour (mode "L", or RGB with R = G = B everywhere)."""
    if image.mode == "L":
        return True
    array = np.asarray(image.convert("RGB"))
    return bool((array[..., 0] == array[..., 1]).all() and (array[..., 1] == array[..., 2]).all())


def to_model_input(width: int, height: int, spec: ModelSpec) -> str:
    """How a ``width`` x ``height`` picture becomes the model's input under the "resize" crop rule
    (shorter side resized to ``spec.resize_size``, then a centre crop of ``spec.input_size``)."""
    size, resize = spec.input_size, spec.resize_size
    if (width, height) == (size, size) and resize == size:
        return f"already {size}×{size}: used as is"
    short, long = min(width, height), max(width, height)
    scaled_long = int(resize * long / short)  # torchvision's Resize(int) keeps the aspect ratio this way
    scaled = (resize, scaled_long) if width <= height else (scaled_long, resize)
    steps = [
        f"shorter side resized to {resize} ({scaled[0]}×{scaled[1]}, {'down' if resize < short else 'up'}scaled "
        f"{resize / short:.3g}×)"
        if resize != short
        else f"shorter side already {resize}"
    ]
    kept_w, kept_h = min(size, scaled[0]) / scaled[0], min(size, scaled[1]) / scaled[1]
    if (kept_w, kept_h) != (1.0, 1.0):
        steps.append(
            f"centre crop {size}×{size} keeps the middle {kept_w:.0%} of the width and {kept_h:.0%} of the height"
        )
    else:
        steps.append(f"centre crop {size}×{size}")
    return "; ".join(steps)


def loader_notes(loaded: LoadedImage, spec: ModelSpec) -> list[str]:
    """Everything done to an upload before the model saw it: the decoder's notes, then the
    conversion to the model's channels and size.

    Args:
        loaded: the decoded upload (`gaia_core.safety.load_images`).
        spec: the model's preprocessing.
    """
    width, height = loaded.image.size
    grey = is_grey(loaded.image)
    wanted = "grey" if spec.in_channels == 1 else "colour (RGB)"
    notes = list(loaded.notes)
    notes.append(
        f"{width}×{height} {'grey' if grey else 'colour'} picture → the model's {spec.input_size}×{spec.input_size} {wanted} input"
    )
    if spec.in_channels == 1 and not grey:
        notes.append("colour converted to grey (the model reads one channel)")
    elif spec.in_channels == 3 and grey:
        notes.append("grey repeated to three channels")
    notes.append(to_model_input(width, height, spec))
    return notes


def preview(image: Image.Image, max_side: int = 512, min_side: int = 128) -> np.ndarray:
    """A decoded upload as a uint8 (H, W, 3) picture to show beside the model's input: shrunk so its
    longer side is at most ``max_side`` (a 40-megapixel photo is not sent to the browser whole),
    small pictures enlarged without blurring up to ``min_side``."""
    shown = image.convert("RGB")
    if max(shown.size) > max_side:
        shown.thumbnail((max_side, max_side), Image.BILINEAR)
    return upscale(np.asarray(shown), min_side)
