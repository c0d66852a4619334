"""How concentrated an attribution map is, one number per map, vectorized over a batch.

All readouts look at magnitudes |map|. A map that is zero everywhere has no distribution of
attribution, so every readout is NaN for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from scipy.stats import entropy as shannon_entropy

from gaia_core.attribution.errors import AttributionError


def sparsity(maps: np.ndarray) -> np.ndarray | float:
    """Gini index of |map| (Hurley & Rickard, 2009): 0 = spread evenly, 1 - 1/N = one pixel.

    Args:
        maps: (H, W) map or (B, H, W) batch.

    Returns:
        a float for one map, else (B,) float64.
    """
    magnitudes, single = _magnitudes(maps)
    sorted_values = np.sort(magnitudes, axis=1)
    n = sorted_values.shape[1]
    totals = sorted_values.sum(axis=1)
    weights = (n - np.arange(1, n + 1) + 0.5) / n
    with np.errstate(invalid="ignore", divide="ignore"):
        gini = 1.0 - 2.0 * (sorted_values @ weights) / totals
    gini[totals == 0] = np.nan
    return _unwrap(gini, single)


def entropy(maps: np.ndarray) -> np.ndarray | float:
    """Shannon entropy of |map| / sum |map|, divided by log N: 1 = uniform, 0 = one pixel.

    Args:
        maps: (H, W) map or (B, H, W) batch.

    Returns:
        a float for one map, else (B,) float64.
    """
    magnitudes, single = _magnitudes(maps)
    n = magnitudes.shape[1]
    totals = magnitudes.sum(axis=1)
    values = np.full(len(magnitudes), np.nan)
    has_mass = totals > 0
    if n == 1:
        values[has_mass] = 0.0
    elif has_mass.any():
        values[has_mass] = shannon_entropy(magnitudes[has_mass], axis=1) / np.log(n)
    return _unwrap(values, single)


def top_mass(maps: np.ndarray, fraction: float = 0.1) -> np.ndarray | float:
    """Share of the total |map| held by the top `fraction` of pixels (at least one pixel).

    Args:
        maps: (H, W) map or (B, H, W) batch.
        fraction: in (0, 1]; 0.1 = the 10% strongest pixels.

    Returns:
        a float for one map, else (B,) float64, in [fraction, 1] up to rounding.
    """
    if not 0.0 < fraction <= 1.0:
        raise AttributionError(f"fraction must be in (0, 1], got {fraction}")
    magnitudes, single = _magnitudes(maps)
    count = max(1, round(fraction * magnitudes.shape[1]))
    top = -np.sort(-magnitudes, axis=1)[:, :count].sum(axis=1)
    totals = magnitudes.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(totals > 0, top / totals, np.nan)
    return _unwrap(share, single)


@dataclass(frozen=True)
class Readout:
    """A concentration readout for pickers and charts."""

    # Registry key.
    name: str
    # Human-readable name.
    label: str
    # One sentence on how to read it.
    description: str
    # (H, W) or (B, H, W) maps -> float or (B,).
    compute: Callable[[np.ndarray], np.ndarray | float]


READOUTS: dict[str, Readout] = {
    r.name: r
    for r in (
        Readout("sparsity", "Sparsity (Gini)", "0 = attribution spread evenly, near 1 = on a few pixels.", sparsity),
        Readout("entropy", "Entropy", "1 = attribution spread evenly, 0 = on a single pixel.", entropy),
        Readout("top_mass", "Top-10% mass", "Share of the attribution on the 10% strongest pixels.", top_mass),
    )
}


def _magnitudes(maps: np.ndarray) -> tuple[np.ndarray, bool]:
    array = maps.detach().cpu().numpy() if isinstance(maps, torch.Tensor) else np.asarray(maps)
    if array.ndim not in (2, 3) or array.size == 0:
        raise AttributionError(f"readouts take a map (H, W) or a batch (B, H, W), got shape {array.shape}")
    if not np.isfinite(array).all():
        raise AttributionError("the attribution map contains NaN or infinite values")
    single = array.ndim == 2
    flat = np.abs(array.astype(np.float64)).reshape(1 if single else array.shape[0], -1)
    return flat, single


def _unwrap(values: np.ndarray, single: bool) -> np.ndarray | float:
    return float(values[0]) if single else values
