"""Small images the tests build themselves (nothing committed)."""

import io

from PIL import Image


def grey_png(value: int, side: int = 32) -> bytes:
    """A ``side`` × ``side`` grey PNG of one value, as bytes."""
    buffer = io.BytesIO()
    Image.new("L", (side, side), value).save(buffer, format="PNG")
    return buffer.getvalue()


def pil_loader(data: bytes, name: str) -> Image.Image:
    """A plain PIL loader (no safety checks), to stand in for the data sets' own."""
    image = Image.open(io.BytesIO(data))
    image.load()
    return image
