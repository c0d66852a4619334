"""Why one image is flagged: its place among the ID images, method by method, its nearest ID images
and the simple pixel traits in which it differs from them (the "What if?" page).

Pure functions of arrays: pixels are (C, H, W) or (N, C, H, W) in [0, 1], as the model sees them
before its normalization.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from gaia_core.errors import ConfigError
from gaia_core.scores import method_label

# Nearest images are searched on pixels averaged down to at most this side (coarse appearance,
# and a bounded cost for large inputs).
NEAREST_SIDE = 32
# A trait is unusual when the image lies outside the ID images' middle share of this size.
TYPICAL_SHARE = 0.9
# A pixel counts as ink (a stroke) at or above this value, as lit above `LIT`.
INK = 0.5
LIT = 0.1


def verdict_table(
    scores: Mapping[str, np.ndarray],
    percentiles: Mapping[str, np.ndarray],
    thresholds: Mapping[str, float],
    flagged: Mapping[str, np.ndarray],
    first_flag: Mapping[str, float | None],
    index: int,
) -> pd.DataFrame:
    """Every method at one swept strength, and the first strength at which it flags the image.

    Args:
        scores: method -> (S,) the image's scores (higher = more abnormal).
        percentiles: method -> (S,) percentile of the image's score among the ID scores.
        thresholds: method -> the score above which it flags the image (keeps 95% of ID images).
        flagged: method -> (S,) bool.
        first_flag: method -> the smallest strength flagged, None when none is.
        index: the strength shown.

    Returns:
        One row per method (in ``percentiles``' order): "method", "score", "threshold" (flagged when
        the score is above it), "percentile among ID" (percent), "flagged here" ("yes" / "no"), "first flags at" ("0.25" or "never").
    """
    rows = [
        {
            "method": method_label(name),
            "score": float(np.asarray(scores[name])[index]),
            "threshold": float(thresholds[name]),
            "percentile among ID": float(np.asarray(values)[index]),
            "flagged here": "yes" if bool(np.asarray(flagged[name])[index]) else "no",
            "first flags at": "never" if first_flag[name] is None else f"{first_flag[name]:.2f}",
        }
        for name, values in percentiles.items()
    ]
    return pd.DataFrame(
        rows, columns=["method", "score", "threshold", "percentile among ID", "flagged here", "first flags at"]
    )


def _batch(pixels, what: str) -> np.ndarray:
    array = np.asarray(pixels, dtype=np.float64)
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4 or 0 in array.shape:
        raise ConfigError(f"{what} must be (C, H, W) or (N, C, H, W) pixels, got shape {array.shape}")
    return array


def _coarse(pixels: np.ndarray) -> np.ndarray:
    """(N, C, H, W) -> (N, D) grey pixels, area-averaged to at most `NEAREST_SIDE` per side."""
    grey = torch.as_tensor(pixels).mean(dim=1, keepdim=True)
    side = min(NEAREST_SIDE, grey.shape[-2]), min(NEAREST_SIDE, grey.shape[-1])
    return F.adaptive_avg_pool2d(grey, side).flatten(1).numpy()


@dataclass(frozen=True)
class Nearest:
    """The ID images closest to one image in pixels.

    Attributes:
        indices: (k,) positions in the ID pixels passed, closest first.
        distances: (k,) their root-mean-square pixel distances.
        typical_distance: the median over the ID images of the distance to their own nearest other
            ID image (how close ID images usually are to one another).
        percentile: percent of ID images whose own nearest neighbour is closer than this image's.
    """

    indices: np.ndarray
    distances: np.ndarray
    typical_distance: float
    percentile: float


def nearest_images(image: np.ndarray, id_pixels: np.ndarray, k: int = 3) -> Nearest:
    """The ``k`` ID images nearest to ``image`` (root-mean-square distance of grey pixels at most
    `NEAREST_SIDE` a side), and how far that is next to the ID images' own nearest neighbours.

    Args:
        image: (C, H, W) pixels.
        id_pixels: (N, C, H, W) ID pixels, the same shape per image; N >= 2.
        k: how many to return (at most N).
    """
    ids = _coarse(_batch(id_pixels, "id_pixels"))
    target = _coarse(_batch(image, "image"))[0]
    if ids.shape[0] < 2 or ids.shape[1] != target.size:
        raise ConfigError("nearest_images needs at least two ID images of the image's size")
    distances = np.sqrt(((ids - target) ** 2).mean(axis=1))
    order = np.argsort(distances, kind="stable")[: max(1, min(k, len(ids)))]
    squares = (ids**2).sum(axis=1)
    among = np.maximum(squares[:, None] + squares[None, :] - 2 * ids @ ids.T, 0.0) / ids.shape[1]
    np.fill_diagonal(among, np.inf)
    own = np.sqrt(among.min(axis=1))
    percentile = float(100.0 * np.mean(own < distances[order[0]]))
    return Nearest(order, distances[order], float(np.median(own)), percentile)


# name -> (what it measures, function of (N, C, H, W) pixels -> (N,) values)
TRAITS: dict[str, tuple[str, Callable[[np.ndarray], np.ndarray]]] = {
    "ink fraction": (
        f"share of pixels at or above {INK} (the strokes)",
        lambda p: (p.mean(axis=1) >= INK).mean(axis=(1, 2)),
    ),
    "stroke brightness": (
        f"mean of the lit pixels (above {LIT}): thin or faint strokes are darker",
        lambda p: np.array([g[g > LIT].mean() if (g > LIT).any() else 0.0 for g in p.mean(axis=1)]),
    ),
    "mean brightness": ("mean of all pixels", lambda p: p.mean(axis=(1, 2, 3))),
    "edge sharpness": (
        "mean step between neighbouring pixels: blur lowers it",
        lambda p: np.abs(np.diff(p.mean(axis=1), axis=2)).mean(axis=(1, 2)),
    ),
}


@dataclass(frozen=True)
class TraitComparison:
    """One pixel trait of the image beside the ID images' values.

    Attributes:
        name: the trait (a key of `TRAITS`); description: what it measures.
        value: the image's value.
        below: percent of ID images with a lower value; above: with a higher one.
        typical: (low, high) the ID images' middle `TYPICAL_SHARE`.
        unusual: whether the value lies outside ``typical``.
    """

    name: str
    description: str
    value: float
    below: float
    above: float
    typical: tuple[float, float]
    unusual: bool


def compare_traits(image: np.ndarray, id_pixels: np.ndarray) -> list[TraitComparison]:
    """Each of `TRAITS` for the image beside the ID images' distribution.

    Args:
        image: (C, H, W) pixels; id_pixels: (N, C, H, W).
    """
    image_batch, ids = _batch(image, "image"), _batch(id_pixels, "id_pixels")
    tail = (1.0 - TYPICAL_SHARE) / 2
    found = []
    for name, (description, function) in TRAITS.items():
        value = float(function(image_batch)[0])
        values = function(ids)
        low, high = (float(v) for v in np.quantile(values, [tail, 1.0 - tail]))
        below, above = float(100.0 * np.mean(values < value)), float(100.0 * np.mean(values > value))
        found.append(TraitComparison(name, description, value, below, above, (low, high), not low <= value <= high))
    return found


def traits_note(traits: list[TraitComparison], id_name: str) -> str:
    """The sentence naming the traits in which the image is unusual for the ID set (or none)."""
    unusual = [t for t in traits if t.unusual]
    if not unusual:
        return (
            f"In these simple pixel traits ({', '.join(t.name for t in traits)}) the image lies within the middle "
            f"{100 * TYPICAL_SHARE:.0f}% of {id_name}: what differs is not in them."
        )
    parts = [
        f"{t.name} {t.value:.3g} ({'lower' if t.above > t.below else 'higher'} than "
        f"{max(t.above, t.below):.0f}% of {id_name}; their middle "
        f"{100 * TYPICAL_SHARE:.0f}%: {t.typical[0]:.3g}–{t.typical[1]:.3g})"
        for t in unusual
    ]
    return "Unusual for the ID images: " + "; ".join(parts) + "."
