"""Can GAIA work on this model? Checked on a few in-distribution images before scoring.

GAIA-Z counts exact zeros in the gradient at each normalization's output; only ReLU-like
activations (ReLU, ReLU6, LeakyReLU's negative side excepted, hard sigmoid/swish saturation)
produce them. With smooth activations (SiLU, GELU, Mish, ...) no entry is ever exactly zero:
every channel's ratio is 1, every input scores 1.0 and GAIA-Z separates nothing.
GAIA-A divides by its output component o; when o is 0 its ratios carry no information.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor, nn

from gaia_core.scores.gaia_a import GaiaA
from gaia_core.scores.gaia_z import GaiaZ
from gaia_core.scores.probe import run_probe

# Activations whose gradient is exactly zero on a region of the input.
_ZERO_MAKERS = (nn.ReLU, nn.ReLU6, nn.Hardtanh, nn.Hardsigmoid, nn.Hardswish, nn.Threshold)


@dataclass(frozen=True)
class ApplicabilityReport:
    """Whether GAIA-Z and GAIA-A can separate anything on a model, and why."""

    # Fraction of tapped gradient entries (GAIA-Z's layers, all images) that are exactly 0.
    zero_fraction: float
    # Smallest GAIA-A output component o over the images (0 = GAIA-A undefined).
    min_output_component: float
    # Activation module types found in the model (class names, in first-seen order).
    activations: tuple[str, ...]
    # True when the gradients hold exact zeros (GAIA-Z's ratios can differ between inputs).
    gaia_z_informative: bool
    # True when the output component is non-zero on every image.
    gaia_a_informative: bool
    # One line each: why the score is (not) informative.
    gaia_z_reason: str
    gaia_a_reason: str

    @property
    def note(self) -> str:
        """One line for users when a GAIA score cannot work here; "" when both can."""
        return " ".join(
            r
            for r, ok in ((self.gaia_z_reason, self.gaia_z_informative), (self.gaia_a_reason, self.gaia_a_informative))
            if not ok
        )


def activation_names(model: nn.Module) -> tuple[str, ...]:
    """Class names of the activation modules (torch.nn.modules.activation and timm's), in order."""
    found = []
    for module in model.modules():
        kind = type(module)
        is_act = kind.__module__.startswith(("torch.nn.modules.activation", "timm.layers.activations"))
        if is_act and kind.__name__ not in found and not isinstance(module, nn.MultiheadAttention):
            found.append(kind.__name__)
    return tuple(found)


def check_applicability(model: nn.Module, x: Tensor) -> ApplicabilityReport:
    """Look at the gradients GAIA uses on a few ID images.

    Args:
        model: classifier in eval mode.
        x: (B, C, H, W) a few normalized in-distribution images on the model's device.
    """
    z_method, a_method = GaiaZ(), GaiaA()
    z_layers = z_method.layer_names(model)
    probe = run_probe(model, x, z_method.plan(model))
    grads = probe.grads(probe.logits.max(dim=1).values.sum(), z_layers)
    zeros = sum(int((g == 0).sum()) for g in grads.values())
    total = sum(g.numel() for g in grads.values())
    zero_fraction = zeros / max(total, 1)

    feature = a_method.feature_name(model)
    probe = run_probe(model, x, a_method.plan(model))
    feature_grad = probe.grads(F.log_softmax(probe.logits, dim=1).sum(), [feature])[feature]
    output_component = feature_grad.mean(dim=(2, 3)).abs().mean(dim=1).sqrt()
    min_o = float(output_component.min())

    activations = activation_names(model)
    smooth = [a for a in activations if not any(a == t.__name__ for t in _ZERO_MAKERS)]
    named = ", ".join(smooth or activations) or "activations that are not modules"
    z_ok = zeros > 0
    if z_ok:
        z_reason = f"GAIA-Z can work: {zero_fraction:.0%} of the tapped gradient entries are exactly zero."
    else:
        z_reason = (
            f"GAIA-Z needs the exact zeros that ReLU-like activations produce; this model uses {named}: "
            "every channel's ratio is 1, so every input scores 1.0."
        )
    a_ok = min_o > 0
    a_reason = (
        f"GAIA-A can work: its output component is non-zero (smallest {min_o:.3g})."
        if a_ok
        else "GAIA-A's output component is 0 on some ID images (the log-softmax sum is flat in F): "
        "its ratios carry no information on this model."
    )
    return ApplicabilityReport(zero_fraction, min_o, activations, z_ok, a_ok, z_reason, a_reason)
