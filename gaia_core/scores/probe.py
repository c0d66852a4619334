"""One instrumented forward pass that the score methods share.

A probe runs the model once and records, for the calling thread only:
- the gradient edge of each tapped layer's output, taken when the layer returns, so a
  gradient is the one w.r.t. the value as it left the layer even when the model later
  overwrites it in place (``ReLU(inplace=True)``, ``out += identity``);
- the globally average-pooled feature vector f of one layer's output;
- the input of the classifier head.

The graph starts at the first tapped layer: everything before it runs without
autograd bookkeeping, since no gradient is ever needed there. Hooks are filtered by
thread, so several threads can probe one shared model at once; they are removed in
``finally``. Gradients are taken with ``torch.autograd.grad``, which writes no ``.grad``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial

import torch
from torch import Tensor, nn
from torch.autograd.graph import GradientEdge, get_gradient_edge

from gaia_core.errors import GaiaError
from gaia_core.scores.taps import LayerError, get_layer, tap_module


class ModelStateError(GaiaError, ValueError):
    """The model is not in the state a score needs (e.g. in training mode)."""


@dataclass(frozen=True)
class ProbePlan:
    """What one forward pass must record."""

    # Layers whose output (B, C, H, W) gradients will be asked for.
    taps: tuple[str, ...] = ()
    # Layer whose output F is average-pooled into f (B, C) during the forward.
    pooled: str | None = None
    # Module whose input (B, D) is recorded (the classifier head).
    head: str | None = None

    def merged(self, other: ProbePlan) -> ProbePlan:
        if self.pooled and other.pooled and self.pooled != other.pooled:
            raise ValueError("plans pool different layers")
        if self.head and other.head and self.head != other.head:
            raise ValueError("plans record different heads")
        return ProbePlan(
            taps=tuple(dict.fromkeys(self.taps + other.taps)),
            pooled=self.pooled or other.pooled,
            head=self.head or other.head,
        )

    def compatible(self, other: ProbePlan) -> bool:
        return (not self.pooled or not other.pooled or self.pooled == other.pooled) and (
            not self.head or not other.head or self.head == other.head
        )


@dataclass
class Probe:
    """The record of one forward pass; tensors keep their graph until the probe is dropped."""

    model: nn.Module
    logits: Tensor  # (B, K)
    edges: dict[str, GradientEdge] = field(default_factory=dict)
    pooled: Tensor | None = None  # (B, C_F)
    head_input: Tensor | None = None  # (B, D)
    head_input_shape: tuple[int, ...] | None = None  # the head input's shape before flattening

    def grads(self, seed: Tensor, layers: Sequence[str]) -> dict[str, Tensor]:
        """Gradients of a scalar seed w.r.t. the outputs of tapped layers.

        Returns:
            dict layer -> Tensor (B, C, H, W). A layer the seed does not depend on gets zeros.
        """
        missing = [name for name in layers if name not in self.edges]
        if missing:
            raise LayerError(f"layer(s) {', '.join(missing)} did not run during the forward pass")
        grads = torch.autograd.grad(
            seed,
            [self.edges[name] for name in layers],
            retain_graph=True,
            allow_unused=True,
            materialize_grads=True,
        )
        return dict(zip(layers, grads))

    def pooled_head_input(self, head: str) -> Tensor:
        """The recorded head input as pooled features (B, D) (a (B, D, 1, 1) input counts as pooled).

        Raises:
            LayerError: the head is fed an un-pooled map (B, C, H, W), H * W > 1.
        """
        shape = self.head_input_shape or ()
        if len(shape) > 2 and any(size != 1 for size in shape[2:]):
            raise LayerError(
                f"layer '{head}' is fed a {shape[1]}x{'x'.join(map(str, shape[2:]))} map, not the pooled "
                "features (B, D): name the layer that is fed the pooled features"
            )
        return self.head_input


def check_eval_mode(model: nn.Module) -> None:
    if model.training:
        raise ModelStateError(
            "the model is in training mode; GAIA and the baselines are defined in eval mode "
            "(batch-norm running statistics). Call model.eval() before scoring."
        )


def run_probe(model: nn.Module, x: Tensor, plan: ProbePlan) -> Probe:
    """Run ``model(x)`` once, recording what ``plan`` asks for.

    Args:
        model: a classifier in eval mode.
        x: (B, C, H, W) input on the model's device.
        plan: the layers to tap, pool and read.

    Returns:
        The probe; ``logits`` (B, K) carry a graph when ``plan.taps`` or ``plan.pooled`` is set.
    """
    check_eval_mode(model)
    owner = threading.get_ident()
    record: dict = {"edges": {}, "pooled": None, "head_input": None, "head_input_shape": None}
    graph_layers = list(dict.fromkeys([*plan.taps, *([plan.pooled] if plan.pooled else [])]))
    handles = []
    try:
        for name in graph_layers:
            module = get_layer(model, name)
            handles.append(module.register_forward_pre_hook(partial(_start_graph, owner)))
            # The pooled layer is read at its output (F is what the pool sees); a tapped fused
            # norm+activation at its activation's input (see taps.tap_module).
            read_at, read_input = (module, False) if name == plan.pooled else tap_module(model, name)
            if read_input:
                handles.append(read_at.register_forward_pre_hook(partial(_record_input, owner, record, name)))
            else:
                handles.append(
                    module.register_forward_hook(
                        partial(_record_output, owner, record, name, name in plan.taps, name == plan.pooled)
                    )
                )
        if plan.head:
            head = get_layer(model, plan.head)
            handles.append(head.register_forward_pre_hook(partial(_record_head_input, owner, record, plan.head)))
        with torch.no_grad():
            logits = model(x)
    finally:
        for handle in handles:
            handle.remove()
    if not isinstance(logits, Tensor) or logits.dim() != 2:
        raise ModelStateError("the model must return logits of shape (B, K)")
    for name in graph_layers:
        if (name in plan.taps and name not in record["edges"]) or (name == plan.pooled and record["pooled"] is None):
            raise LayerError(f"layer '{name}' did not run during the forward pass")
    if plan.head and record["head_input"] is None:
        raise LayerError(f"head layer '{plan.head}' did not run during the forward pass")
    return Probe(model, logits, record["edges"], record["pooled"], record["head_input"], record["head_input_shape"])


def _start_graph(owner: int, module: nn.Module, args: tuple):
    if threading.get_ident() != owner:
        return None
    torch.set_grad_enabled(True)
    # An input that carries no graph has no tapped layer upstream of it, so cutting it
    # loses nothing; making it a leaf gives the layer's output a graph even when the
    # parameters are frozen.
    if any(_is_detached_float(a) for a in args):
        return tuple(a.detach().requires_grad_() if _is_detached_float(a) else a for a in args)
    return None


def _is_detached_float(value) -> bool:
    return isinstance(value, Tensor) and value.is_floating_point() and not value.requires_grad


def _record_output(owner: int, record: dict, name: str, tap: bool, pool: bool, module, args, output) -> None:
    if threading.get_ident() != owner:
        return
    if not isinstance(output, Tensor) or output.dim() != 4:
        shape = tuple(output.shape) if isinstance(output, Tensor) else type(output).__name__
        raise LayerError(f"layer '{name}' returned {shape}; GAIA needs a (B, C, H, W) output")
    if name in record["edges"] or (pool and record["pooled"] is not None):
        raise LayerError(f"layer '{name}' ran more than once in one forward pass; name a layer that runs once")
    if tap:
        record["edges"][name] = get_gradient_edge(output)
    if pool:
        record["pooled"] = output.mean(dim=(2, 3))


def _record_input(owner: int, record: dict, name: str, module, args) -> None:
    if threading.get_ident() != owner:
        return
    _record_output(owner, record, name, True, False, module, args, args[0] if args else None)


def _record_head_input(owner: int, record: dict, name: str, module, args) -> None:
    if threading.get_ident() != owner:
        return
    if not args or not isinstance(args[0], Tensor):
        raise LayerError(f"head layer '{name}' got no tensor input")
    record["head_input"] = torch.flatten(args[0], 1)
    record["head_input_shape"] = tuple(args[0].shape)
