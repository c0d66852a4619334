"""The demo's offline datasets: scikit-learn's handwritten digits (ID) and five OOD sets.

Everything is built from files that ship with scikit-learn and Pillow, or generated from
fixed seeds, so the same arrays come out on every machine without any download. All sets
share the digits' format: float32 images (N, 1, 32, 32) in [0, 1] (the digits and letters
are bright strokes on black), made by upscaling 8x8 pictures like the digits where that applies.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from sklearn.datasets import load_digits, load_sample_images
from sklearn.model_selection import train_test_split

from gaia_core.errors import GaiaError

IMAGE_SIZE = 32
SET_SIZE = 300
TEST_FRACTION = 0.25
SPLIT_SEED = 0
SAMPLES_PER_SET = 6

# Pixel mean and standard deviation of the digits' train split after scaling to [0, 1]
# and resizing to 32x32 (`digits_pixel_stats()`; tests/test_demo.py checks they match).
DEMO_MEAN = 0.3052
DEMO_STD = 0.3235

_SEEDS = {"letters": 101, "natural": 102, "textures": 103, "noise": 104, "shifted": 105}
# Letters that look like a digit at 8x8 (O/0, I/1, S/5, Z/2, B/8, a/8, ...), left out.
_DIGIT_LOOKALIKES = set("aOoDIilJjSsZzBbGgqT")
_LETTERS = [c for c in string.ascii_letters if c not in _DIGIT_LOOKALIKES]


class DemoDataError(GaiaError, ValueError):
    """An unknown demo set or split was asked for."""


@dataclass(frozen=True)
class DemoSet:
    """One demo dataset as the app lists it."""

    # Registry key, used by `load_demo_set` and as the sample folder name.
    name: str
    # Short human title.
    title: str
    # One line on what the images are and why they are (or are not) OOD.
    description: str
    # True for the in-distribution set the model was trained on.
    is_id: bool


DEMO_SETS: dict[str, DemoSet] = {
    s.name: s
    for s in (
        DemoSet(
            "digits",
            "Handwritten digits (ID)",
            "scikit-learn's 8x8 handwritten digits 0-9, the data the demo model was trained on.",
            True,
        ),
        DemoSet(
            "letters",
            "Letters (near-OOD)",
            "Latin letters rendered in the digits' 8x8 style: same strokes, unseen classes.",
            False,
        ),
        DemoSet(
            "natural",
            "Natural patches",
            "Grayscale patches of scikit-learn's sample photos (china.jpg, flower.jpg).",
            False,
        ),
        DemoSet(
            "textures",
            "Synthetic textures",
            "Stripes, checkerboards, oriented gratings and blobs at random scales.",
            False,
        ),
        DemoSet("noise", "Noise", "Uniform and Gaussian pixel noise, at full and at 8x8 resolution.", False),
        DemoSet(
            "shifted",
            "Shifted digits (covariate shift)",
            "Test digits inverted and/or rotated by 90-180 degrees; treated as OOD.",
            False,
        ),
    )
}


def load_demo_set(name: str, split: str = "test") -> tuple[np.ndarray, np.ndarray]:
    """Images and labels of a demo set, identical on every call and machine.

    Args:
        name: a key of `DEMO_SETS`.
        split: "train" or "test"; only "digits" has a train split, OOD sets ignore it.

    Returns:
        images: float32 array (N, 1, 32, 32) in [0, 1] (a fresh copy).
        labels: int64 array (N,), the digit for "digits", -1 for the OOD sets.

    Raises:
        DemoDataError: unknown set name or split.
    """
    if name not in DEMO_SETS:
        raise DemoDataError(f"unknown demo set '{name}'; choose one of: {', '.join(DEMO_SETS)}")
    if split not in ("train", "test"):
        raise DemoDataError(f"unknown split '{split}'; use 'train' or 'test'")
    images, labels = _cached_set(name, split if name == "digits" else "test")
    return images.copy(), labels.copy()


def normalize(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Model input from [0, 1] images: (images - DEMO_MEAN) / DEMO_STD, float32, same shape."""
    return (torch.as_tensor(images, dtype=torch.float32) - DEMO_MEAN) / DEMO_STD


def digits_pixel_stats() -> tuple[float, float]:
    """Pixel mean and std of the digits' train split: where DEMO_MEAN and DEMO_STD come from."""
    images, _ = _cached_set("digits", "train")
    return float(images.mean(dtype=np.float64)), float(images.std(dtype=np.float64))


def digits_split_indices() -> tuple[np.ndarray, np.ndarray]:
    """Rows of `sklearn.datasets.load_digits()` in the train and the test split, sorted.

    A stratified split (25% test) with a fixed seed, so it is the same on every machine.
    """
    target = load_digits().target
    train, test = train_test_split(
        np.arange(len(target)), test_size=TEST_FRACTION, stratify=target, random_state=SPLIT_SEED
    )
    return np.sort(train), np.sort(test)


def upscale_8x8(small: np.ndarray) -> np.ndarray:
    """Bilinear 4x upscaling, the one way every 8x8 picture becomes a demo image.

    Args:
        small: (N, 8, 8) values in [0, 1].

    Returns:
        float32 (N, 1, 32, 32) in [0, 1].
    """
    x = torch.as_tensor(np.asarray(small, dtype=np.float32))[:, None]
    big = F.interpolate(x, size=(IMAGE_SIZE, IMAGE_SIZE), mode="bilinear", align_corners=False)
    return big.clamp_(0.0, 1.0).numpy()


def export_samples(directory: str | Path, per_set: int = SAMPLES_PER_SET) -> list[Path]:
    """Write the first `per_set` images of every set as `<directory>/<set>/<k>.png`.

    The OOD generators cycle through their kinds (stripes, checkerboard, ...), so the first
    images show each kind.

    PNGs are 32x32 8-bit grayscale. Returns the written paths.
    """
    written = []
    for name in DEMO_SETS:
        images, _ = _cached_set(name, "test")
        folder = Path(directory) / name
        folder.mkdir(parents=True, exist_ok=True)
        for k, image in enumerate(images[:per_set]):
            pixels = np.round(image[0] * 255).astype(np.uint8)
            path = folder / f"{k}.png"
            Image.fromarray(pixels).save(path)
            written.append(path)
    return written


@cache
def _cached_set(name: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    if name == "digits":
        images, labels = _digits(split)
    elif name == "shifted":
        images, labels = _shifted_digits(np.random.default_rng(_SEEDS[name]))
    else:
        builder = {"letters": _letters, "natural": _natural, "textures": _textures, "noise": _noise}[name]
        images = builder(np.random.default_rng(_SEEDS[name]))
        labels = np.full(len(images), -1, dtype=np.int64)
    images = np.ascontiguousarray(images, dtype=np.float32)
    # The cache is shared by every caller: make it immutable, callers get copies.
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def _digits(split: str) -> tuple[np.ndarray, np.ndarray]:
    digits = load_digits()
    chosen = digits_split_indices()[0 if split == "train" else 1]
    return upscale_8x8(digits.images[chosen] / 16.0), digits.target[chosen].astype(np.int64)


def to_8x8(picture: Image.Image) -> np.ndarray:
    """Area-average a grayscale picture down to 8x8 in [0, 1], quantized to the digits' 17 levels."""
    small = np.asarray(picture.resize((8, 8), Image.Resampling.BOX), dtype=np.float64) / 255.0
    return np.round(small * 16) / 16


@cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)  # loading it per letter was most of the set's cost


def _letters(rng: np.random.Generator) -> np.ndarray:
    canvas = 96
    pictures = []
    for i in range(SET_SIZE):
        letter = _LETTERS[i % len(_LETTERS)]
        font = _font(int(rng.integers(44, 64)))
        image = Image.new("L", (canvas, canvas), 0)
        ImageDraw.Draw(image).text(
            (canvas / 2, canvas / 2),
            letter,
            fill=255,
            font=font,
            anchor="mm",
            stroke_width=int(rng.integers(0, 3)),
            stroke_fill=255,
        )
        image = image.rotate(float(rng.uniform(-12, 12)), resample=Image.Resampling.BILINEAR)
        image = image.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.3, 1.0))))
        # Frame the glyph like the digits: it fills most of the 8x8 box, slightly off-centre.
        left, top, right, bottom = image.getbbox()
        side = max(right - left, bottom - top) * rng.uniform(1.05, 1.3)
        cx = (left + right) / 2 + rng.uniform(-0.08, 0.08) * side
        cy = (top + bottom) / 2 + rng.uniform(-0.08, 0.08) * side
        box = tuple(round(v) for v in (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2))
        framed = image.crop(box)  # crop pads with black where the box leaves the canvas
        pictures.append(to_8x8(framed))
    return upscale_8x8(np.stack(pictures))


def _natural(rng: np.random.Generator) -> np.ndarray:
    photos = [Image.fromarray(p).convert("L") for p in load_sample_images().images]
    pictures = []
    for i in range(SET_SIZE):
        photo = photos[i % len(photos)]
        side = int(rng.integers(24, 160))
        left = int(rng.integers(0, photo.width - side))
        top = int(rng.integers(0, photo.height - side))
        pictures.append(to_8x8(photo.crop((left, top, left + side, top + side))))
    return upscale_8x8(np.stack(pictures))


def _textures(rng: np.random.Generator) -> np.ndarray:
    coords = np.arange(IMAGE_SIZE, dtype=np.float64)
    yy, xx = np.meshgrid(coords, coords, indexing="ij")
    images = []
    for i in range(SET_SIZE):
        kind = i % 4
        angle = rng.uniform(0, np.pi)
        along = xx * np.cos(angle) + yy * np.sin(angle)
        if kind == 0:  # hard-edged stripes
            period = rng.uniform(4, 12)
            image = ((along / period + rng.uniform()) % 1.0 < rng.uniform(0.3, 0.7)).astype(float)
        elif kind == 1:  # checkerboard, possibly rotated
            cell = rng.uniform(3, 10)
            across = -xx * np.sin(angle) + yy * np.cos(angle)
            image = ((np.floor(along / cell) + np.floor(across / cell)) % 2).astype(float)
        elif kind == 2:  # smooth sinusoidal grating
            frequency = rng.uniform(0.05, 0.35)
            image = 0.5 + 0.5 * np.sin(2 * np.pi * frequency * along + rng.uniform(0, 2 * np.pi))
        else:  # Gaussian blobs
            image = np.zeros((IMAGE_SIZE, IMAGE_SIZE))
            for _ in range(int(rng.integers(3, 9))):
                cy, cx = rng.uniform(0, IMAGE_SIZE, size=2)
                radius = rng.uniform(2, 7)
                image += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * radius**2))
            image /= image.max()
        contrast = rng.uniform(0.5, 1.0)
        images.append(np.clip(contrast * image, 0.0, 1.0))
    return np.stack(images)[:, None].astype(np.float32)


def _noise(rng: np.random.Generator) -> np.ndarray:
    images = []
    for i in range(SET_SIZE):
        kind = i % 3
        if kind == 0:
            image = rng.uniform(0, 1, size=(IMAGE_SIZE, IMAGE_SIZE))
        elif kind == 1:
            image = rng.normal(rng.uniform(0.2, 0.6), rng.uniform(0.1, 0.35), size=(IMAGE_SIZE, IMAGE_SIZE))
        else:  # coarse noise with the digits' 8x8 grain
            image = upscale_8x8(rng.uniform(0, 1, size=(1, 8, 8)))[0, 0]
        images.append(np.clip(image, 0.0, 1.0))
    return np.stack(images)[:, None].astype(np.float32)


def _shifted_digits(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    digits, _ = _cached_set("digits", "test")
    shifted = []
    for i in range(SET_SIZE):
        image = digits[i, 0]
        kind = i % 3  # 0: inverted, 1: rotated, 2: both
        if kind >= 1:
            angle = float(rng.uniform(90, 180) * rng.choice([-1, 1]))
            rotated = Image.fromarray(image).rotate(angle, resample=Image.Resampling.BILINEAR)
            image = np.asarray(rotated)
        if kind != 1:
            image = 1.0 - image
        shifted.append(np.clip(image, 0.0, 1.0)[None])
    return np.stack(shifted), np.full(SET_SIZE, -1, dtype=np.int64)
