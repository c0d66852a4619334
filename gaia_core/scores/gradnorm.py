"""GradNorm (Huang et al., NeurIPS 2021), in closed form for a linear last layer."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from gaia_core.scores.base import ScoreMethod, ScoreResult, register
from gaia_core.scores.probe import Probe, ProbePlan
from gaia_core.scores.taps import LayerError, get_layer, last_linear


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
    # Dotted name of the last linear layer; None = the last nn.Linear of the model.
    layer: str | None = None

    def layer_name(self, model: nn.Module) -> str:
        name = self.layer or last_linear(model)
        if not isinstance(get_layer(model, name), nn.Linear):
            raise LayerError(f"GradNorm's closed form needs an nn.Linear; '{name}' is not one")
        return name

    def plan(self, model: nn.Module) -> ProbePlan:
        return ProbePlan(head=self.layer_name(model))

    def from_probe(self, probe: Probe) -> ScoreResult:
        logits = probe.logits.detach()
        features = probe.head_input.detach()
        if features.shape[1] != get_layer(probe.model, self.layer_name(probe.model)).in_features:
            raise LayerError("GradNorm: the recorded layer input does not match the linear layer")
        probs = (logits / self.temperature).softmax(dim=1)
        uniform = 1.0 / logits.shape[1]
        norm = (probs - uniform).abs().sum(dim=1) * features.abs().sum(dim=1) / self.temperature
        return ScoreResult(-norm, logits)
