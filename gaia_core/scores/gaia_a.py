"""GAIA-A, channel-wise average abnormality (Chen et al., NeurIPS 2023)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gaia_core.scores.base import ScoreMethod, ScoreResult, mean_square, register
from gaia_core.scores.probe import Probe, ProbePlan
from gaia_core.scores.taps import default_gaia_a_feature_layer, default_gaia_a_layers, get_layer, resolve_layers


@register
@dataclass(frozen=True)
class GaiaA(ScoreMethod):
    """Let F (B, C_F, H, W) be the last feature map and f = mean_hw F the pooled vector (on WRN-40-2
    and BiT, as the authors hook them, F is the pooled output itself, H = W = 1).
    Output component o = sqrt(mean_c |mean_hw d(sum_k log_softmax(y)_k)/dF_c|);
    inner components u_c = |mean_hw d(sum_d f_d)/dA_c| for each channel of each inner layer A.
    Score = mean over inner channels of (u_c / o)^2; higher is more abnormal.
    """

    name = "gaia_a"
    label = "GAIA-A"

    # Dotted names of the inner layers; None = the architecture's default (see gaia_core.scores.taps).
    inner_layers: tuple[str, ...] | None = None
    # Dotted name of the layer whose output is F; None = the architecture's default.
    feature_layer: str | None = None

    def layer_names(self, model: nn.Module) -> list[str]:
        default = default_gaia_a_layers(model) if self.inner_layers is None else []
        return resolve_layers(model, self.inner_layers, default)

    def feature_name(self, model: nn.Module) -> str:
        if self.feature_layer is None:
            return default_gaia_a_feature_layer(model)
        get_layer(model, self.feature_layer)
        return self.feature_layer

    def plan(self, model: nn.Module) -> ProbePlan:
        feature = self.feature_name(model)
        return ProbePlan(taps=(*self.layer_names(model), feature), pooled=feature)

    @staticmethod
    def output_component(probe: Probe, feature: str) -> Tensor:
        """o = sqrt(mean_c |mean_hw d(sum_k log_softmax(y)_k)/dF_c|): (B,), never 0."""
        feature_grad = probe.grads(F.log_softmax(probe.logits, dim=1).sum(), [feature])[feature]
        o = feature_grad.mean(dim=(2, 3)).abs().mean(dim=1).sqrt()
        # o = 0 only when the log-softmax sum is flat in F; keep the ratio finite then.
        return o.clamp_min(torch.finfo(o.dtype).tiny)

    @staticmethod
    def inner_gradients(probe: Probe, layers: Sequence[str]) -> dict[str, Tensor]:
        """d(sum_d f_d)/dA for each inner layer: layer -> (B, C, H, W)."""
        return probe.grads(probe.pooled.sum(), layers)

    @staticmethod
    def ratios(grads: dict[str, Tensor], output_component: Tensor) -> dict[str, Tensor]:
        """u_c / o per layer: layer -> (B, C)."""
        return {name: g.mean(dim=(2, 3)).abs() / output_component[:, None] for name, g in grads.items()}

    def from_probe(self, probe: Probe) -> ScoreResult:
        o = self.output_component(probe, self.feature_name(probe.model))
        channels = self.ratios(self.inner_gradients(probe, self.layer_names(probe.model)), o)
        return ScoreResult(mean_square(channels).detach(), probe.logits.detach(), channels)


def gaia_a(
    model: nn.Module,
    x: Tensor,
    inner_layers: Sequence[str] | None = None,
    feature_layer: str | None = None,
) -> ScoreResult:
    """GAIA-A scores of a batch.

    Args:
        model: classifier in eval mode.
        x: (B, C, H, W) normalized input on the model's device.
        inner_layers: dotted names of the inner layers; None = the default (ResNets: norm
            layers in layer3 and layer4).
        feature_layer: dotted name of the layer whose output is the last feature map;
            None = the default (ResNets: layer4; WRN-40-2 and BiT: their pooled output).

    Returns:
        ScoreResult with score (B,), logits (B, K), channels layer -> u_c / o (B, C_layer).
    """
    inner = None if inner_layers is None else tuple(inner_layers)
    return GaiaA(inner_layers=inner, feature_layer=feature_layer)(model, x)
