"""Hostile and unusual uploads, generated here: each bad file gets its own message."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from gaia_core.safety.images import ImageLimits, ImageRejected, load_image, load_images


def _encode(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def _png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares a huge image (valid CRCs, almost no data)."""

    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def test_format_is_decided_by_content_not_name():
    png = _encode(Image.new("RGB", (4, 3), (10, 20, 30)), "PNG")
    image = load_image(png, "photo.jpg")
    assert image.size == (4, 3) and image.getpixel((0, 0)) == (10, 20, 30)


@pytest.mark.parametrize("content", [b"<html><script>alert(1)</script></html>", b"PK\x03\x04zipfile", b"%PDF-1.7"])
def test_non_images_with_an_image_name_are_rejected_by_name(content):
    with pytest.raises(ImageRejected, match="evil.png: not an image"):
        load_image(content, "evil.png")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_files_are_rejected(fmt):
    rng = np.random.default_rng(0)
    data = _encode(Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)), fmt)
    with pytest.raises(ImageRejected, match="cut.img: the image is corrupt or truncated"):
        load_image(data[: len(data) // 2], "cut.img")


@pytest.mark.parametrize(
    "side, message", [(8000, "8000x8000 pixels is over the 40-megapixel limit"), (50000, "too many pixels")]
)
def test_decompression_bomb_is_rejected_before_decoding(side, message):
    with pytest.raises(ImageRejected, match=f"bomb.png: {message}"):
        load_image(_png_declaring(side, side), "bomb.png")


def test_oversized_file_is_rejected_before_decoding():
    with pytest.raises(ImageRejected, match="big.png: .* over the"):
        load_image(b"\x89PNG" + b"\x00" * 2048, "big.png", ImageLimits(max_bytes=1024))


def test_exif_orientation_is_applied():
    image = Image.new("RGB", (40, 20), (0, 0, 0))
    image.paste((255, 255, 255), (0, 0, 10, 20))  # white band on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise for display
    loaded = load_images([("phone.jpg", _encode(image, "JPEG", exif=exif, quality=95))])[0][0]
    assert loaded.image.size == (20, 40)
    assert "EXIF orientation applied" in loaded.notes
    assert loaded.image.getpixel((10, 2))[0] > 200 and loaded.image.getpixel((10, 37))[0] < 50


def test_palette_with_transparency_is_composited_on_white():
    image = Image.new("P", (2, 1))
    image.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    image.putpixel((0, 0), 0)
    image.putpixel((1, 0), 1)
    image.info["transparency"] = 0
    out = load_image(_encode(image, "PNG", transparency=0), "p.png")
    assert out.getpixel((0, 0)) == (255, 255, 255) and out.getpixel((1, 0)) == (0, 0, 255)


@pytest.mark.parametrize(
    "mode, value, expected",
    [
        ("LA", (100, 255), (100, 100, 100)),
        ("RGBA", (0, 200, 0, 255), (0, 200, 0)),
        ("1", 1, (255, 255, 255)),
        ("L", 77, (77, 77, 77)),
    ],
)
def test_alpha_grayscale_and_bilevel_become_rgb(mode, value, expected):
    out = load_image(_encode(Image.new(mode, (3, 3), value), "PNG"), f"{mode}.png")
    assert out.mode == "RGB" and out.getpixel((1, 1)) == expected


def test_cmyk_jpeg_becomes_rgb():
    out = load_image(_encode(Image.new("CMYK", (8, 8), (0, 255, 255, 0)), "JPEG", quality=95), "cmyk.jpg")
    r, g, b = out.getpixel((4, 4))
    assert out.mode == "RGB" and r > 200 and g < 60 and b < 60


def test_sixteen_bit_values_are_scaled_by_their_range_not_clipped():
    values = np.array([[1000, 1500], [2000, 1000]], dtype=np.uint16)
    loaded = load_images([("deep.png", _encode(Image.fromarray(values), "PNG"))], mode="L")[0][0]
    pixels = np.asarray(loaded.image)
    assert pixels.tolist() == [[0, 128], [255, 0]]
    assert any("scaled to 8-bit" in note for note in loaded.notes)


def test_animated_gif_gives_its_first_frame():
    frames = [Image.new("RGB", (4, 4), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    data = _encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    loaded = load_images([("anim.gif", data)])[0][0]
    assert loaded.image.getpixel((0, 0))[0] > 200 and "first frame used" in loaded.notes[0]


def test_one_pixel_image_loads():
    assert load_image(_encode(Image.new("RGB", (1, 1), (5, 6, 7)), "BMP"), "dot.bmp").size == (1, 1)


def test_mixed_uploads_keep_every_good_file_and_explain_every_bad_one():
    good = _encode(Image.new("RGB", (8, 8)), "PNG")
    files = [
        ("a.png", good),
        ("notes.png", b"just text"),
        ("b.webp", _encode(Image.new("RGB", (8, 8)), "WEBP")),
        ("empty.jpg", b""),
    ]
    loaded, rejected = load_images(files)
    assert [image.name for image in loaded] == ["a.png", "b.webp"]
    assert [str(e).split(":")[0] for e in rejected] == ["notes.png", "empty.jpg"]
