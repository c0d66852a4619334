"""Decoding untrusted image files: format by content, bounded size, every mode to RGB or L.

Each file either becomes a plain 8-bit image or raises `ImageRejected` with a message that
names it; `load_images` keeps going past bad files so one bad upload loses nothing else.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from gaia_core.errors import GaiaError
from gaia_core.safety.uploads import IMAGE_UPLOAD_MB, MB, megabytes

ALLOWED_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP", "PPM")


class ImageRejected(GaiaError, ValueError):
    """An uploaded file that is not an acceptable image; the message names the file."""


@dataclass(frozen=True)
class ImageLimits:
    """What an uploaded image may be."""

    # Largest file accepted, in bytes (checked before decoding).
    max_bytes: int = IMAGE_UPLOAD_MB * MB
    # Largest width x height accepted (decompression bombs), checked before decoding pixels.
    max_pixels: int = 40_000_000
    # Formats identified by content; the file name's extension is ignored.
    formats: tuple[str, ...] = ALLOWED_FORMATS


@dataclass(frozen=True)
class LoadedImage:
    """A decoded upload and what was done to it."""

    name: str
    image: Image.Image
    notes: tuple[str, ...] = field(default_factory=tuple)


def load_image(
    data: bytes,
    name: str,
    limits: ImageLimits = ImageLimits(),
    mode: str = "RGB",
    background: tuple[int, int, int] = (255, 255, 255),
) -> Image.Image:
    """The first frame of an image file as a plain 8-bit "RGB" (or "L") image.

    Any size from 1x1 up is accepted; resizing is the caller's. Transparency is composited on
    ``background``; 16- and 32-bit images are scaled to 8 bits by their actual value range.

    Raises:
        ImageRejected: not an image, an unsupported format, too large, or corrupt/truncated.
    """
    return load_image_with_notes(data, name, limits, mode, background).image


def load_image_with_notes(
    data: bytes,
    name: str,
    limits: ImageLimits = ImageLimits(),
    mode: str = "RGB",
    background: tuple[int, int, int] = (255, 255, 255),
) -> LoadedImage:
    if mode not in ("RGB", "L"):
        raise ValueError("mode must be 'RGB' or 'L'")
    if not data:
        raise ImageRejected(f"{name}: the file is empty")
    if len(data) > limits.max_bytes:
        raise ImageRejected(f"{name}: {megabytes(len(data))} is over the {limits.max_bytes / MB:g} MB limit")
    notes: list[str] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=list(limits.formats))
            width, height = image.size
            if width * height > limits.max_pixels:
                raise ImageRejected(
                    f"{name}: {width}x{height} pixels is over the {limits.max_pixels / 1e6:.0f}-megapixel limit"
                )
            if getattr(image, "n_frames", 1) > 1:
                notes.append(f"animated ({image.n_frames} frames): first frame used")
            image.seek(0)
            image.load()
            if _exif_orientation(image) not in (None, 1):
                notes.append("EXIF orientation applied")
            image = ImageOps.exif_transpose(image)
            converted, how = _to_8bit(image, mode, background)
    except ImageRejected:
        raise
    except UnidentifiedImageError:
        raise ImageRejected(f"{name}: not an image in a supported format ({', '.join(limits.formats)})") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected(f"{name}: too many pixels (decompression bomb guard)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        raise ImageRejected(f"{name}: the image is corrupt or truncated ({err})") from None
    if how:
        notes.append(how)
    return LoadedImage(name, converted, tuple(notes))


def load_images(
    files: Iterable[tuple[str, bytes]], limits: ImageLimits = ImageLimits(), mode: str = "RGB"
) -> tuple[list[LoadedImage], list[ImageRejected]]:
    """Decode each (name, bytes) independently: the good ones, and one error per bad file."""
    loaded, rejected = [], []
    for name, data in files:
        try:
            loaded.append(load_image_with_notes(data, name, limits, mode))
        except ImageRejected as err:
            rejected.append(err)
    return loaded, rejected


def _exif_orientation(image: Image.Image) -> int | None:
    try:
        return image.getexif().get(0x0112)
    except Exception:  # a broken EXIF block only means no orientation is known
        return None


def _to_8bit(image: Image.Image, mode: str, background: tuple[int, int, int]) -> tuple[Image.Image, str]:
    how, source_mode = "", image.mode
    if source_mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        low, high = float(values.min()), float(values.max())
        scaled = (values - low) / (high - low) * 255.0 if high > low else np.zeros_like(values)
        image = Image.fromarray(np.rint(scaled).astype(np.uint8), "L")
        how = f"{'16' if source_mode.startswith('I;16') else '32'}-bit values {low:g}..{high:g} scaled to 8-bit"
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("LA", "PA", "RGBA", "La", "RGBa"):
        rgba = image.convert("RGBA")
        flat = Image.new("RGBA", rgba.size, (*background, 255))
        image = Image.alpha_composite(flat, rgba).convert("RGB")
        how = how or "transparency composited on the background"
    if image.mode == "CMYK":
        how = how or "CMYK converted to RGB"
    return image.convert(mode), how
