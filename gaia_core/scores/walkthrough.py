"""The intermediate quantities of GAIA for one image at one layer, for teaching."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gaia_core.scores.probe import ProbePlan, run_probe
from gaia_core.scores.taps import default_feature_layer, default_gaia_a_layers, default_gaia_z_layers, get_layer


@dataclass(frozen=True)
class LayerWalkthrough:
    """GAIA's steps at one layer for one image.

    Attributes:
        layer: dotted layer name.
        z_gradient: (C, H, W) d(max logit)/dA, GAIA-Z's gradient.
        zero_ratio_nonzero: (C,) r_c, the fraction of non-zero entries per channel.
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
    zero_ratio_nonzero: np.ndarray
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
    """GAIA's intermediate quantities for one image.

    Args:
        model: classifier in eval mode.
        x: (1, C, H, W) normalized image on the model's device.
        layer: dotted name of a layer with a (B, C, H, W) output.
    """
    if x.dim() != 4 or x.shape[0] != 1:
        raise ValueError("walkthrough takes one image, shaped (1, C, H, W)")
    get_layer(model, layer)
    z_layers, a_layers = default_gaia_z_layers(model), default_gaia_a_layers(model)
    feature = default_feature_layer(model)
    plan = ProbePlan(taps=tuple(dict.fromkeys([layer, *z_layers, *a_layers, feature])), pooled=feature)
    probe = run_probe(model, x, plan)
    z_grads = probe.grads(probe.logits.max(dim=1).values.sum(), list(dict.fromkeys([layer, *z_layers])))
    z_ratios = {n: torch.count_nonzero(g, dim=(2, 3)).float() / (g.shape[2] * g.shape[3]) for n, g in z_grads.items()}
    feature_grad = probe.grads(F.log_softmax(probe.logits, dim=1).sum(), [feature])[feature]
    o = feature_grad.mean(dim=(2, 3)).abs().mean(dim=1).sqrt().clamp_min(torch.finfo(feature_grad.dtype).tiny)
    a_grads = probe.grads(probe.pooled.sum(), list(dict.fromkeys([layer, *a_layers])))
    a_ratios = {n: g.mean(dim=(2, 3)).abs() / o[:, None] for n, g in a_grads.items()}
    probs = probe.logits.detach().softmax(dim=1)[0]
    return LayerWalkthrough(
        layer=layer,
        z_gradient=_numpy(z_grads[layer][0]),
        zero_ratio_nonzero=_numpy(z_ratios[layer][0]),
        a_gradient=_numpy(a_grads[layer][0]),
        output_component=float(o[0]),
        channel_ratio=_numpy(a_ratios[layer][0]),
        gaia_z=float(torch.cat([z_ratios[n] for n in z_layers], dim=1).pow(2).mean()),
        gaia_a=float(torch.cat([a_ratios[n] for n in a_layers], dim=1).pow(2).mean()),
        in_gaia_z=layer in z_layers,
        in_gaia_a=layer in a_layers,
        prediction=int(probs.argmax()),
        confidence=float(probs.max()),
    )


def _numpy(t: Tensor) -> np.ndarray:
    return t.detach().float().cpu().numpy()
