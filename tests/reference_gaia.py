"""A straightforward GAIA written from the definitions, one sample at a time.

Each layer output is kept by a forward hook that hands a clone downstream, so in-place
ops after the layer cannot touch the kept value; gradients come from ``.backward()`` on a
private copy of the model. Slow and obviously right: the fast path must match it.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F


def _keep_outputs(model, names, kept):
    handles = []
    for name in names:
        def hook(module, args, output, name=name):
            output.retain_grad()
            kept[name] = output
            return output.clone()
        handles.append(model.get_submodule(name).register_forward_hook(hook))
    return handles


def reference_gaia_z(model, x, layers):
    model = copy.deepcopy(model)
    scores, ratios = [], {name: [] for name in layers}
    for sample in x.split(1):
        kept = {}
        handles = _keep_outputs(model, layers, kept)
        logits = model(sample.clone().requires_grad_())
        for h in handles:
            h.remove()
        logits.max(dim=1).values.sum().backward()
        per_layer = [(kept[n].grad != 0).double().mean(dim=(2, 3))[0] for n in layers]
        for n, r in zip(layers, per_layer):
            ratios[n].append(r)
        scores.append(torch.cat(per_layer).pow(2).mean())
    return torch.stack(scores), {n: torch.stack(v) for n, v in ratios.items()}


def reference_gaia_a(model, x, inner_layers, feature_layer):
    """In float64: the channel averages cancel, so float32 would blur the comparison."""
    model = copy.deepcopy(model).double()
    x = x.double()
    scores, ratios = [], {name: [] for name in inner_layers}
    for sample in x.split(1):
        kept = {}
        handles = _keep_outputs(model, [*inner_layers, feature_layer], kept)
        logits = model(sample.clone().requires_grad_())
        for h in handles:
            h.remove()
        F.log_softmax(logits, dim=1).sum().backward(retain_graph=True)
        feature_grad = kept[feature_layer].grad.clone()
        o = feature_grad.double().mean(dim=(2, 3)).abs().mean().sqrt()
        for t in kept.values():
            t.grad = None
        kept[feature_layer].mean(dim=(2, 3)).sum().backward()
        per_layer = [kept[n].grad.double().mean(dim=(2, 3)).abs()[0] / o for n in inner_layers]
        for n, r in zip(inner_layers, per_layer):
            ratios[n].append(r)
        scores.append(torch.cat(per_layer).pow(2).mean())
    return torch.stack(scores), {n: torch.stack(v) for n, v in ratios.items()}
