"""GAIA-Z, zero-deflation abnormality (Chen et al., NeurIPS 2023)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from torch import Tensor, nn

from gaia_core.scores.base import ScoreMethod, ScoreResult, mean_square, register
from gaia_core.scores.probe import Probe, ProbePlan
from gaia_core.scores.taps import default_gaia_z_layers, resolve_layers


@register
@dataclass(frozen=True)
class GaiaZ(ScoreMethod):
    """For each hooked layer output A (B, C, H, W), G = d(sum_b max_k logit_k)/dA; per channel,
    r_c = fraction of non-zero entries of G over H x W. Score = mean over all channels of all
    layers of r_c^2: OOD inputs give denser gradients, so a higher score is more abnormal.
    """

    name = "gaia_z"
    label = "GAIA-Z"

    # Dotted layer names; None = every normalization layer.
    layers: tuple[str, ...] | None = None

    def layer_names(self, model: nn.Module) -> list[str]:
        return resolve_layers(model, self.layers, default_gaia_z_layers(model) if self.layers is None else [])

    def plan(self, model: nn.Module) -> ProbePlan:
        return ProbePlan(taps=tuple(self.layer_names(model)))

    def gradients(self, probe: Probe, layers: Sequence[str]) -> dict[str, Tensor]:
        """G = d(sum_b max_k logit_k)/dA for each layer: layer -> (B, C, H, W)."""
        return probe.grads(probe.logits.max(dim=1).values.sum(), layers)

    @staticmethod
    def nonzero_fractions(grads: dict[str, Tensor]) -> dict[str, Tensor]:
        """r_c per layer: layer -> (B, C) fraction of non-zero entries over H x W."""
        # (g != 0).sum is several times faster than torch.count_nonzero(g, dim=...) on the CPU.
        return {name: (g != 0).sum(dim=(2, 3)).float() / (g.shape[2] * g.shape[3]) for name, g in grads.items()}

    def from_probe(self, probe: Probe) -> ScoreResult:
        channels = self.nonzero_fractions(self.gradients(probe, self.layer_names(probe.model)))
        return ScoreResult(mean_square(channels), probe.logits.detach(), channels)


def gaia_z(model: nn.Module, x: Tensor, layers: Sequence[str] | None = None) -> ScoreResult:
    """GAIA-Z scores of a batch.

    Args:
        model: classifier in eval mode.
        x: (B, C, H, W) normalized input on the model's device.
        layers: dotted layer names; None = every normalization layer.

    Returns:
        ScoreResult with score (B,), logits (B, K), channels layer -> r_c (B, C_layer).
    """
    return GaiaZ(layers=None if layers is None else tuple(layers))(model, x)
