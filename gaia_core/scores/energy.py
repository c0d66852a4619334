"""Energy score (Liu et al., NeurIPS 2020)."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from gaia_core.scores.base import ScoreMethod, ScoreResult, register
from gaia_core.scores.probe import Probe


def free_energy(logits: Tensor, temperature: float) -> Tensor:
    """E(x) = -T logsumexp(y / T), (B, K) -> (B,); higher energy = more abnormal."""
    return -temperature * (logits / temperature).logsumexp(dim=1)


@register
@dataclass(frozen=True)
class Energy(ScoreMethod):
    """Score = -T logsumexp(y / T)."""

    name = "energy"
    label = "Energy"

    # Temperature T of the energy.
    temperature: float = 1.0

    def from_probe(self, probe: Probe) -> ScoreResult:
        logits = probe.logits.detach()
        return ScoreResult(free_energy(logits, self.temperature), logits)
