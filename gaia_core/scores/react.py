"""ReAct: rectified activations (Sun et al., NeurIPS 2021), scored with the energy."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from gaia_core.errors import GaiaError
from gaia_core.scores.base import ScoreMethod, ScoreResult, register
from gaia_core.scores.energy import free_energy
from gaia_core.scores.probe import Probe, ProbePlan, run_probe
from gaia_core.scores.taps import apply_linear_map, default_head_layer, get_layer


class NotFittedError(GaiaError, RuntimeError):
    """A method that must be fitted on ID data was used before ``fit``."""


@register
@dataclass(frozen=True)
class ReAct(ScoreMethod):
    """Clip the pooled features fed to the head at c (the ``percentile``-th percentile of ID
    features), then score = energy of the head's logits on the clipped features.

    The head is the module fed the pooled features (`gaia_core.scores.taps.default_head_layer`:
    on timm's pooling heads their linear map, a 1x1 convolution taking them as (B, D, 1, 1)).
    """

    name = "react"
    label = "ReAct"
    needs_fit = True

    # Percentile of ID feature values used as the clipping threshold.
    percentile: float = 90.0
    # Clipping threshold c; set by fit() (or given directly).
    threshold: float | None = None
    # Temperature of the energy score.
    temperature: float = 1.0
    # Dotted name of the classifier head; None = the default head (fc, linear, classifier, head).
    head: str | None = None
    # At most about this many feature values fit the percentile (the same number drawn from each sample).
    max_fit_values: int = 4_000_000

    def head_name(self, model: nn.Module) -> str:
        return self.head or default_head_layer(model)

    def plan(self, model: nn.Module) -> ProbePlan:
        return ProbePlan(head=self.head_name(model))

    def from_probe(self, probe: Probe) -> ScoreResult:
        if self.threshold is None:
            raise NotFittedError("ReAct needs a clipping threshold: call .fit(model, id_batches) first")
        name = self.head_name(probe.model)
        features = probe.pooled_head_input(name).detach()
        with torch.no_grad():
            clipped_logits = apply_linear_map(get_layer(probe.model, name), features.clamp(max=self.threshold))
        return ScoreResult(free_energy(clipped_logits, self.temperature), probe.logits.detach())

    def fit(self, model: nn.Module, batches: Iterable[Tensor]) -> ReAct:
        """Set the threshold to the percentile of the pooled head-input values over ID batches x (B, C, H, W).

        Every ID sample weighs the same whatever the batching: when the values exceed
        ``max_fit_values``, the same number of values is drawn from each sample (by a generator
        seeded with the sample's position in the stream), so two batchings give one threshold.
        """
        name = self.head_name(model)
        plan = ProbePlan(head=name)
        per_sample: list[np.ndarray] = []
        for x in batches:
            values = run_probe(model, x, plan).pooled_head_input(name).detach().float().cpu().numpy()
            per_sample.extend(values)
        if not per_sample:
            raise ValueError("ReAct.fit got no ID batches")
        width = per_sample[0].size
        keep = max(1, self.max_fit_values // len(per_sample))
        if keep < width:
            per_sample = [
                np.random.default_rng(index).choice(row, keep, replace=False) for index, row in enumerate(per_sample)
            ]
        values = np.concatenate(per_sample)
        return dataclasses.replace(self, threshold=float(np.percentile(values, self.percentile)))
