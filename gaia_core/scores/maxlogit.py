"""Maximum logit (Hendrycks et al., ICML 2022)."""

from __future__ import annotations

from dataclasses import dataclass

from gaia_core.scores.base import ScoreMethod, ScoreResult, register
from gaia_core.scores.probe import Probe


@register
@dataclass(frozen=True)
class MaxLogit(ScoreMethod):
    """Score = -max_k y_k."""

    name = "maxlogit"
    label = "MaxLogit"

    def from_probe(self, probe: Probe) -> ScoreResult:
        logits = probe.logits.detach()
        return ScoreResult(-logits.max(dim=1).values, logits)
