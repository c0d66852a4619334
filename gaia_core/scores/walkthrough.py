"""The intermediate quantities of GAIA for one image at one layer, for teaching.

Every number comes from the score methods' own steps (`GaiaZ.gradients`, `GaiaA.ratios`, ...),
so the walk-through cannot drift from the scores it explains.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from torch import Tensor, nn

from gaia_core.scores.base import mean_square
from gaia_core.scores.gaia_a import GaiaA
from gaia_core.scores.gaia_z import GaiaZ
from gaia_core.scores.probe import ProbePlan, run_probe
from gaia_core.scores.taps import get_layer


@dataclass(frozen=True)
class LayerWalkthrough:
    """GAIA's steps at one layer for one image.

    Attributes:
        layer: dotted layer name.
        z_gradient: (C, H, W) d(max logit)/dA, GAIA-Z's gradient.
        nonzero_fraction: (C,) r_c, the fraction of non-zero entries per channel.
        a_gradient: (C, H, W) d(sum of pooled features)/dA, GAIA-A's inner gradient.
        output_component: o, from the last feature map.
        channel_ratio: (C,) u_c / o.
        gaia_z: the image's GAIA-Z score (all default layers).
        gaia_a: the image's GAIA-A score (all default inner layers).
        in_gaia_z: whether the layer is one of GAIA-Z's default layers.
        in_gaia_a: whether the layer is one of GAIA-A's default inner layers.
        prediction: predicted class.
        confidence: its softmax probability.
    """

    layer: str
    z_gradient: np.ndarray
    nonzero_fraction: np.ndarray
    a_gradient: np.ndarray
    output_component: float
    channel_ratio: np.ndarray
    gaia_z: float
    gaia_a: float
    in_gaia_z: bool
    in_gaia_a: bool
    prediction: int
    confidence: float


def walkthrough(model: nn.Module, x: Tensor, layer: str) -> LayerWalkthrough:
    """GAIA's intermediate quantities for one image, from the score methods' own steps.

    Args:
        model: classifier in eval mode.
        x: (1, C, H, W) normalized image on the model's device.
        layer: dotted name of a layer with a (B, C, H, W) output.
    """
    if x.dim() != 4 or x.shape[0] != 1:
        raise ValueError("walkthrough takes one image, shaped (1, C, H, W)")
    get_layer(model, layer)
    z_method, a_method = GaiaZ(), GaiaA()
    z_layers, a_layers = z_method.layer_names(model), a_method.layer_names(model)
    feature = a_method.feature_name(model)
    plan = z_method.plan(model).merged(a_method.plan(model)).merged(ProbePlan(taps=(layer,)))
    probe = run_probe(model, x, plan)
    z_grads = z_method.gradients(probe, list(dict.fromkeys([layer, *z_layers])))
    z_ratios = GaiaZ.nonzero_fractions(z_grads)
    o = GaiaA.output_component(probe, feature)
    a_grads = GaiaA.inner_gradients(probe, list(dict.fromkeys([layer, *a_layers])))
    a_ratios = GaiaA.ratios(a_grads, o)
    probs = probe.logits.detach().softmax(dim=1)[0]
    return LayerWalkthrough(
        layer=layer,
        z_gradient=_numpy(z_grads[layer][0]),
        nonzero_fraction=_numpy(z_ratios[layer][0]),
        a_gradient=_numpy(a_grads[layer][0]),
        output_component=float(o[0]),
        channel_ratio=_numpy(a_ratios[layer][0]),
        gaia_z=float(mean_square({n: z_ratios[n] for n in z_layers})[0]),
        gaia_a=float(mean_square({n: a_ratios[n] for n in a_layers})[0]),
        in_gaia_z=layer in z_layers,
        in_gaia_a=layer in a_layers,
        prediction=int(probs.argmax()),
        confidence=float(probs.max()),
    )


def _numpy(t: Tensor) -> np.ndarray:
    return t.detach().float().cpu().numpy()


def gaia_z_gradients(model: nn.Module, x: Tensor) -> dict[str, np.ndarray]:
    """GAIA-Z's gradient G at every one of its layers for one image: layer -> (C, H, W).

    Args:
        model: classifier in eval mode.
        x: (1, C, H, W) normalized image on the model's device.
    """
    if x.dim() != 4 or x.shape[0] != 1:
        raise ValueError("gaia_z_gradients takes one image, shaped (1, C, H, W)")
    method = GaiaZ()
    probe = run_probe(model, x, method.plan(model))
    return {name: _numpy(g[0]) for name, g in method.gradients(probe, method.layer_names(model)).items()}


def zero_shares(model: nn.Module, x: Tensor) -> np.ndarray:
    """Per image, the share of exactly-zero entries of GAIA-Z's gradient G over all its layers
    (every entry of every channel counts once): what "most gradient entries are zero" claims.

    Args:
        model: classifier in eval mode.
        x: (B, C, H, W) normalized images on the model's device.

    Returns:
        (B,) float64 in [0, 1].
    """
    method = GaiaZ()
    probe = run_probe(model, x, method.plan(model))
    grads = list(method.gradients(probe, method.layer_names(model)).values())
    zeros = sum((g == 0).flatten(1).sum(dim=1).double() for g in grads)
    entries = sum(g[0].numel() for g in grads)
    return (zeros / entries).detach().cpu().numpy()
