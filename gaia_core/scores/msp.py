"""Maximum softmax probability (Hendrycks & Gimpel, ICLR 2017)."""

from __future__ import annotations

from dataclasses import dataclass

from gaia_core.scores.base import ScoreMethod, ScoreResult, register
from gaia_core.scores.probe import Probe


@register
@dataclass(frozen=True)
class MSP(ScoreMethod):
    """Score = -max_k softmax(y)_k."""

    name = "msp"
    label = "MSP"

    def from_probe(self, probe: Probe) -> ScoreResult:
        logits = probe.logits.detach()
        return ScoreResult(-logits.softmax(dim=1).max(dim=1).values, logits)
