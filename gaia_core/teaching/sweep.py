"""Score one image at many strengths of one perturbation, in one batched pass.

What the "What if?" page plots: per strength, every method's score and its percentile among
the ID reference's scores, the 95%-TPR verdict, the prediction, and GAIA's per-layer means.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from gaia_core.errors import ConfigError
from gaia_core.evaluation.metrics import percentile_of, threshold_at_tpr
from gaia_core.evaluation.results import DatasetScores
from gaia_core.scores import GAIA_METHODS, score_many
from gaia_core.scores.base import ScoreMethod
from gaia_core.teaching.perturbations import apply


@dataclass(frozen=True)
class SweepConfig:
    """Which perturbation to sweep, and where."""

    # A key of `gaia_core.teaching.perturbations.PERTURBATIONS`.
    perturbation: str
    # Strengths in [0, 1], increasing; 21 evenly spaced by default.
    strengths: tuple[float, ...] = tuple(round(s, 2) for s in np.linspace(0, 1, 21))
    # Seed of the random parts (noise, square position, moved patches).
    seed: int = 0
    # Fraction of ID images kept by each method's threshold.
    tpr: float = 0.95


@dataclass(frozen=True)
class IdReference:
    """What the sweep compares against, from the ID set's scores.

    Attributes:
        scores: method -> (N,) ID scores.
        layer_means: method -> layer -> mean over ID images of the layer's channel mean
            (GAIA methods whose channels were kept).
    """

    scores: Mapping[str, np.ndarray]
    layer_means: Mapping[str, Mapping[str, float]]

    @classmethod
    def from_scores(cls, id_scores: DatasetScores) -> IdReference:
        scores = {m: id_scores.table[m].to_numpy(dtype=np.float64) for m in id_scores.methods}
        means = {
            method: {layer: float(np.mean(stats.mean)) for layer, stats in layers.items()}
            for method, layers in id_scores.channel_stats.items()
        }
        return cls(scores, means)


@dataclass(frozen=True)
class Sweep:
    """One image swept over the strengths of one perturbation.

    Attributes:
        config: the sweep's config.
        images: (S, C, H, W) perturbed pixels in [0, 1], one per strength.
        scores: method -> (S,) scores (higher = more abnormal).
        percentiles: method -> (S,) percent of ID scores at or below the score, in [0, 100].
        thresholds: method -> the score above which an image is flagged (keeps ``tpr`` of ID).
        threshold_percentiles: method -> the threshold's own percentile among the ID scores
            (a score is flagged exactly when its percentile exceeds it).
        flagged: method -> (S,) bool, score > threshold.
        first_flag: method -> the smallest strength flagged, None when no strength is.
        predictions: (S,) predicted class.
        confidences: (S,) softmax probability of the predicted class.
        flips: strengths where the prediction differs from the one at the previous strength.
        layer_profiles: method -> layer -> (S,) the layer's mean channel value (GAIA-Z r̄, GAIA-A ū/o).
    """

    config: SweepConfig
    images: np.ndarray
    scores: dict[str, np.ndarray]
    percentiles: dict[str, np.ndarray]
    thresholds: dict[str, float]
    threshold_percentiles: dict[str, float]
    flagged: dict[str, np.ndarray]
    first_flag: dict[str, float | None]
    predictions: np.ndarray
    confidences: np.ndarray
    flips: list[float]
    layer_profiles: dict[str, dict[str, np.ndarray]]

    @property
    def strengths(self) -> np.ndarray:
        return np.asarray(self.config.strengths, dtype=np.float64)

    @property
    def all_flag(self) -> list[float]:
        """Strengths at which every method flags the image (empty when there is none)."""
        every = np.logical_and.reduce([np.asarray(f, dtype=bool) for f in self.flagged.values()])
        return [float(s) for s in self.strengths[every]]

    def index(self, strength: float) -> int:
        """Position of the swept strength nearest to ``strength``."""
        return int(np.abs(self.strengths - strength).argmin())


def perturbed_batch(image: Tensor, config: SweepConfig, other: Tensor | None = None) -> Tensor:
    """(S, C, H, W) the image at each strength of ``config``, from image (C, H, W) in [0, 1]."""
    strengths = np.asarray(config.strengths, dtype=np.float64)
    if strengths.size == 0 or np.any(np.diff(strengths) <= 0):
        raise ConfigError("the sweep's strengths must be non-empty and increasing")
    return torch.stack([apply(config.perturbation, image, float(s), config.seed, other) for s in strengths])


def run_sweep(
    model: nn.Module,
    methods: Sequence[ScoreMethod],
    to_input: Callable[[Tensor], Tensor],
    image: Tensor,
    config: SweepConfig,
    reference: IdReference,
    other: Tensor | None = None,
) -> Sweep:
    """Scores of the image at every strength, with all methods, in one batch.

    Args:
        model: classifier in eval mode.
        methods: score methods (fitted where they need it), scored as in the ID reference.
        to_input: pixels (C, H, W) in [0, 1] -> model input (C', H', W') (the model's transform).
        image: (C, H, W) pixels in [0, 1].
        config: perturbation, strengths, seed, TPR.
        reference: the ID set's scores and per-layer means.
        other: (C, H, W) second image for ``blend``.
    """
    pixels = perturbed_batch(image, config, other)
    device = next(model.parameters()).device
    x = torch.stack([to_input(p) for p in pixels]).to(device)
    results = score_many(model, x, methods)
    strengths = [float(s) for s in config.strengths]
    scores, percentiles, thresholds, threshold_percentiles, flagged, first_flag = {}, {}, {}, {}, {}, {}
    for name, result in results.items():
        values = result.score.detach().double().cpu().numpy()
        scores[name] = values
        if name not in reference.scores:
            raise ConfigError(f"the ID reference has no '{name}' scores; score the ID set with every method")
        percentiles[name] = percentile_of(values, reference.scores[name])
        thresholds[name] = threshold_at_tpr(reference.scores[name], config.tpr)
        threshold_percentiles[name] = percentile_of(thresholds[name], reference.scores[name])
        flagged[name] = values > thresholds[name]
        hits = np.flatnonzero(flagged[name])
        first_flag[name] = strengths[hits[0]] if hits.size else None
    logits = next(iter(results.values())).logits.detach().float().cpu()
    probs = logits.softmax(dim=1)
    predictions = probs.argmax(dim=1).numpy()
    flips = [strengths[i] for i in range(1, len(strengths)) if predictions[i] != predictions[i - 1]]
    profiles = {
        name: {
            layer: values.detach().float().cpu().mean(dim=1).numpy() for layer, values in results[name].channels.items()
        }
        for name in GAIA_METHODS
        if name in results
    }
    return Sweep(
        config=config,
        images=pixels.cpu().numpy(),
        scores=scores,
        percentiles=percentiles,
        thresholds=thresholds,
        threshold_percentiles=threshold_percentiles,
        flagged=flagged,
        first_flag=first_flag,
        predictions=predictions,
        confidences=probs.max(dim=1).values.numpy(),
        flips=flips,
        layer_profiles=profiles,
    )
