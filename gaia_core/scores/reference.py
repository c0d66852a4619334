"""GAIA written straight from the definitions: the yardstick for the fast engine.

Each tapped layer's output is kept by a forward hook that hands a clone downstream, so
in-place operations after the layer cannot touch the kept value; gradients come from a plain
``.backward()``, parameter gradients included, as naive code computes them. Slow and obviously
right: the tests check the engine against it (per sample, in float64) and `gaia_core.bench`
times the engine against it.

It writes ``.grad`` on the model it is given: pass a copy you own.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gaia_core.scores.taps import is_fused_norm_act


def _keep_outputs(model: nn.Module, names: Sequence[str], kept: dict[str, Tensor], outputs: Sequence[str] = ()) -> list:
    def hook(module, args, output, name):
        output.retain_grad()
        kept[name] = output
        return output.clone()

    def pre_hook(module, args, name):
        return (hook(module, args, args[0], name), *args[1:])

    handles = []
    for n in names:
        module = model.get_submodule(n)
        if is_fused_norm_act(module) and n not in outputs:
            # A fused norm+activation is tapped before its activation (see taps.tap_module).
            handles.append(module.act.register_forward_pre_hook(lambda m, a, n=n: pre_hook(m, a, n)))
        else:
            handles.append(module.register_forward_hook(lambda m, a, o, n=n: hook(m, a, o, n)))
    return handles


def _forward(
    model: nn.Module, x: Tensor, names: Sequence[str], outputs: Sequence[str] = ()
) -> tuple[Tensor, dict[str, Tensor]]:
    kept: dict[str, Tensor] = {}
    handles = _keep_outputs(model, names, kept, outputs)
    try:
        logits = model(x)
    finally:
        for handle in handles:
            handle.remove()
    model.zero_grad()
    return logits, kept


def straightforward_gaia_z(model: nn.Module, x: Tensor, layers: Sequence[str]) -> tuple[Tensor, dict[str, Tensor]]:
    """GAIA-Z from ``.backward()`` of the summed max logits.

    Args:
        model: classifier in eval mode (its ``.grad`` are written).
        x: (B, C, H, W) input.
        layers: dotted names of the tapped layers.

    Returns:
        (scores (B,), layer -> r_c (B, C_layer)), in float64.
    """
    logits, kept = _forward(model, x, layers)
    logits.max(dim=1).values.sum().backward()
    ratios = {n: (kept[n].grad != 0).double().mean(dim=(2, 3)) for n in layers}  # counts are exact in float64
    return torch.cat(list(ratios.values()), dim=1).pow(2).mean(dim=1), ratios


def straightforward_gaia_a(
    model: nn.Module, x: Tensor, inner_layers: Sequence[str], feature_layer: str
) -> tuple[Tensor, dict[str, Tensor]]:
    """GAIA-A from two ``.backward()`` calls: the log-softmax sum for o, the pooled-feature sum for u_c.

    Args:
        model: classifier in eval mode (its ``.grad`` are written).
        x: (B, C, H, W) input.
        inner_layers: dotted names of the inner layers.
        feature_layer: dotted name of the layer whose output is the last feature map F.

    Returns:
        (scores (B,), layer -> u_c / o (B, C_layer)).
    """
    logits, kept = _forward(model, x, [*inner_layers, feature_layer], outputs=[feature_layer])
    F.log_softmax(logits, dim=1).sum().backward(retain_graph=True)
    o = kept[feature_layer].grad.mean(dim=(2, 3)).abs().mean(dim=1).sqrt()
    for t in kept.values():
        t.grad = None
    model.zero_grad()
    kept[feature_layer].mean(dim=(2, 3)).sum().backward()
    ratios = {n: kept[n].grad.mean(dim=(2, 3)).abs() / o[:, None] for n in inner_layers}
    return torch.cat(list(ratios.values()), dim=1).pow(2).mean(dim=1), ratios
