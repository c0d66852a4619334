"""GradNorm (Huang et al., NeurIPS 2021), in closed form for a linear last layer (an ``nn.Linear``, or
a 1x1 convolution on the pooled (B, D, 1, 1) features, as timm's BiT heads)."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from gaia_core.scores.base import ScoreMethod, ScoreResult, register
from gaia_core.scores.probe import Probe, ProbePlan
from gaia_core.scores.taps import LayerError, get_layer, is_linear_map, last_linear, map_in_features


@register
@dataclass(frozen=True)
class GradNorm(ScoreMethod):
    """GradNorm = || dKL(u || softmax(y / T)) / dW ||_1 over the last linear layer's weight W.

    With y = W h + b the weight gradient is (p - 1/K) h^T / T with p = softmax(y / T), whose L1
    norm factorises: ||p - 1/K||_1 * ||h||_1 / T. No per-sample backward is needed.
    Score = -GradNorm (ID inputs have larger gradient norms).

    Scale: this is the paper's definition (KL to the uniform distribution, i.e. the cross-entropy
    averaged over the K classes) and equals pytorch-ood's. The released GradNorm code and OpenOOD
    sum the cross-entropy over the K classes instead, so their values are K times these: rankings,
    and so every OOD metric, are the same; raw values are not.
    """

    name = "gradnorm"
    label = "GradNorm"

    # Temperature T of the softmax.
    temperature: float = 1.0
    # Dotted name of the last linear layer; None = the model's last nn.Linear or 1x1 nn.Conv2d.
    layer: str | None = None

    def layer_name(self, model: nn.Module) -> str:
        name = self.layer or last_linear(model)
        if not is_linear_map(get_layer(model, name)):
            raise LayerError(f"GradNorm's closed form needs an nn.Linear or a 1x1 nn.Conv2d; '{name}' is neither")
        return name

    def plan(self, model: nn.Module) -> ProbePlan:
        return ProbePlan(head=self.layer_name(model))

    def from_probe(self, probe: Probe) -> ScoreResult:
        logits = probe.logits.detach()
        name = self.layer_name(probe.model)
        features = probe.pooled_head_input(name).detach()
        if features.shape[1] != map_in_features(get_layer(probe.model, name)):
            raise LayerError("GradNorm: the recorded layer input does not match the linear layer")
        probs = (logits / self.temperature).softmax(dim=1)
        uniform = 1.0 / logits.shape[1]
        norm = (probs - uniform).abs().sum(dim=1) * features.abs().sum(dim=1) / self.temperature
        return ScoreResult(-norm, logits)
