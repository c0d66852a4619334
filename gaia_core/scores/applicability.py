"""Can GAIA work on this model, and which methods apply at all? Checked on a few ID images before scoring.

GAIA-Z counts exact zeros in the gradient at each normalization's output, and separates inputs only
when those zeros change with the input. ReLU-like activations (ReLU, ReLU6, hard sigmoid / swish /
mish saturation) make such zeros. Zeros can also come from elsewhere, and then GAIA-Z measures
nothing: zero-initialised last norms (timm's default) zero the gradient of a whole block, the same
for every input; a max pool routes the gradient to one entry per window; a smooth activation's
gradient underflows to exactly 0 in float32 (SiLU below about -88). So GAIA-Z is judged, per layer,
by whether the zeros vary across the probe images, and only where a flat-region activation can make
them. With smooth activations alone (SiLU, GELU, Mish, LeakyReLU, ...) it cannot work.
GAIA-A divides by its output component o; when o is 0 its ratios carry no information.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor, nn

from gaia_core.errors import one_line
from gaia_core.scores.base import ScoreMethod, mean_square
from gaia_core.scores.gaia_a import GaiaA
from gaia_core.scores.gaia_z import GaiaZ
from gaia_core.scores.probe import run_probe
from gaia_core.scores.taps import LayerError

# Activations whose gradient is exactly zero on a region of the input (torch's and timm's names).
ZERO_MAKERS = frozenset(
    {
        "ReLU",
        "ReLU6",
        "Hardtanh",
        "Hardsigmoid",
        "Hardswish",
        "Threshold",
        "HardSigmoid",
        "HardSwish",
        "HardMish",
        "HardSigmoidMe",
        "HardSwishMe",
        "HardMishMe",
    }
)
_ACTIVATION_MODULES = ("torch.nn.modules.activation", "timm.layers.activations")


def percent(fraction: float) -> str:
    """A fraction as a percentage that never rounds a real fraction to 0% or 100% ("<0.1%", ">99.9%")."""
    if fraction <= 0:
        return "0%"
    if fraction >= 1:
        return "100%"
    if fraction < 0.001:
        return "<0.1%"
    if fraction > 0.999:
        return ">99.9%"
    return f"{100 * fraction:.1f}%"


@dataclass(frozen=True)
class ApplicabilityReport:
    """Whether GAIA-Z and GAIA-A can separate anything on a model, and why."""

    # Fraction of tapped gradient entries (GAIA-Z's layers, all images) that are exactly 0.
    zero_fraction: float
    # Smallest GAIA-A output component o over the images (0 = GAIA-A undefined).
    min_output_component: float
    # Activation module types found in the model (class names, in first-seen order).
    activations: tuple[str, ...]
    # True when GAIA-Z's zeros change with the input where a flat-region activation can make them.
    gaia_z_informative: bool
    # True when the output component is non-zero on every image.
    gaia_a_informative: bool
    # One line each: why the score is (not) informative.
    gaia_z_reason: str
    gaia_a_reason: str
    # GAIA-Z's layers whose per-channel zero ratios differ between the probe images, in network order.
    varying_layers: tuple[str, ...] = ()
    # Largest minus smallest GAIA-Z score over the probe images.
    gaia_z_spread: float = 0.0

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
        is_act = kind.__module__.startswith(_ACTIVATION_MODULES)
        if is_act and kind.__name__ not in found and not isinstance(module, nn.MultiheadAttention):
            found.append(kind.__name__)
    return tuple(found)


def _gaia_z_verdict(
    zero_fraction: float, varying: list[str], layers: int, activations: tuple[str, ...], images: int, spread: float
) -> tuple[bool, str]:
    smooth = [a for a in activations if a not in ZERO_MAKERS]
    named = ", ".join(smooth or activations) or "activations that are not modules"
    # Activations given as functions (F.relu) are not modules: then only the zeros themselves can tell.
    flat_regions = not activations or any(a in ZERO_MAKERS for a in activations)
    zeros = percent(zero_fraction)
    if zero_fraction == 0:
        return False, (
            f"GAIA-Z needs the exact zeros that ReLU-like activations produce; this model uses {named}: "
            "every channel's ratio is 1, so every input scores 1.0."
        )
    if images > 1 and not varying:
        return False, (
            f"GAIA-Z needs zeros that change with the input; this model's {zeros} exact zeros are the same on "
            "every probe image (e.g. from zero-initialised norms), so every input gets the same score."
        )
    if not flat_regions:
        return False, (
            f"GAIA-Z needs the exact zeros that ReLU-like activations produce; this model uses {named}: its "
            f"{zeros} exact zeros come from elsewhere (max-pool routing, zero-initialised norms or the "
            f"activation's gradient underflowing), and the score moves by {spread:.2g} across the probe images."
        )
    where = f", changing with the input in {len(varying)} of {layers} layers" if images > 1 else ""
    return True, f"GAIA-Z can work: {zeros} of the tapped gradient entries are exactly zero{where}."


def check_applicability(model: nn.Module, x: Tensor) -> ApplicabilityReport:
    """Look at the gradients GAIA uses on a few ID images.

    Args:
        model: classifier in eval mode.
        x: (B, C, H, W) a few normalized in-distribution images on the model's device (B >= 2 to
            tell whether the zeros vary with the input).
    """
    z_method, a_method = GaiaZ(), GaiaA()
    z_layers = z_method.layer_names(model)
    probe = run_probe(model, x, z_method.plan(model))
    grads = z_method.gradients(probe, z_layers)
    zeros = sum(int((g == 0).sum()) for g in grads.values())
    total = sum(g.numel() for g in grads.values())
    zero_fraction = zeros / max(total, 1)
    ratios = GaiaZ.nonzero_fractions(grads)
    varying = [name for name, r in ratios.items() if bool((r.amax(dim=0) > r.amin(dim=0)).any())]
    score = mean_square(ratios)
    spread = float(score.max() - score.min())

    feature = a_method.feature_name(model)
    probe = run_probe(model, x, a_method.plan(model))
    feature_grad = probe.grads(F.log_softmax(probe.logits, dim=1).sum(), [feature])[feature]
    output_component = feature_grad.mean(dim=(2, 3)).abs().mean(dim=1).sqrt()
    min_o = float(output_component.min())

    activations = activation_names(model)
    z_ok, z_reason = _gaia_z_verdict(zero_fraction, varying, len(z_layers), activations, x.shape[0], spread)
    a_ok = min_o > 0
    a_reason = (
        f"GAIA-A can work: its output component is non-zero (smallest {min_o:.3g})."
        if a_ok
        else "GAIA-A's output component is 0 on some ID images (the log-softmax sum is flat in F): "
        "its ratios carry no information on this model."
    )
    return ApplicabilityReport(
        zero_fraction, min_o, activations, z_ok, a_ok, z_reason, a_reason, tuple(varying), spread
    )


def applicable_methods(
    model: nn.Module, methods: Sequence[ScoreMethod], x: Tensor
) -> tuple[list[ScoreMethod], list[str]]:
    """The methods that can score this model at all, and one line for each that cannot.

    Each method is tried on ``x`` (fitted on it first when it needs a fit); a method whose layers do
    not exist in this model (no norm layer for GAIA, no linear map on pooled features for GradNorm or
    ReAct) is left out with its reason, so the others can be scored.

    Args:
        model: classifier in eval mode.
        methods: configured methods, unfitted ones included.
        x: (B, C, H, W) a few normalized ID images on the model's device.

    Returns:
        (the methods that apply, unchanged and in order; "<label> skipped: <why>" lines).
    """
    kept, notes = [], []
    for method in methods:
        try:
            trial = method.fit(model, [x]) if method.needs_fit else method
            trial(model, x)
        except LayerError as err:
            notes.append(f"{method.label} skipped: {one_line(err)}")
        else:
            kept.append(method)
    return kept, notes
