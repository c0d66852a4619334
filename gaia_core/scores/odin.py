"""ODIN: temperature scaling and input perturbation (Liang et al., ICLR 2018)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gaia_core.scores.base import ScoreMethod, ScoreResult, register
from gaia_core.scores.probe import check_eval_mode


@register
@dataclass(frozen=True)
class ODIN(ScoreMethod):
    """x' = x - eps * sign(-d log S_yhat(x; T) / dx); score = -max_k softmax(y(x') / T)_k."""

    name = "odin"
    label = "ODIN"
    shares_forward = False

    # Softmax temperature T.
    temperature: float = 1000.0
    # Perturbation size eps, in pixel units when input_std is given, else in normalized units.
    epsilon: float = 0.0014
    # Per-channel std used to normalize the input; None = perturb in normalized units.
    input_std: tuple[float, ...] | None = None

    def __call__(self, model: nn.Module, x: Tensor) -> ScoreResult:
        check_eval_mode(model)
        leaf = x.detach().requires_grad_()
        with torch.enable_grad():
            logits = model(leaf)
            scaled = logits / self.temperature
            loss = F.cross_entropy(scaled, scaled.argmax(dim=1), reduction="sum")
            (grad,) = torch.autograd.grad(loss, leaf)
        step = torch.where(grad >= 0, 1.0, -1.0).to(x.dtype)
        if self.input_std is not None:
            step = step / torch.tensor(self.input_std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        with torch.no_grad():
            perturbed = model(x.detach() - self.epsilon * step)
            score = -(perturbed / self.temperature).softmax(dim=1).max(dim=1).values
        return ScoreResult(score, logits.detach())
