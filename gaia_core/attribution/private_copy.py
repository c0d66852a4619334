"""A private copy of the caller's model for Captum to hook into.

The app shares one model object between threads. Captum's Guided Backprop, Deconvolution,
DeepLift and layer methods register hooks on the model's modules, and those would fire in
every other thread using the same model (and GAIA's own hooks on the shared model would fire
here). So attribution runs on a deep copy that carries no hooks, stays in eval mode, and whose
parameters do not require gradients (the input carries the gradient). The caller's model is
only read.
"""

from __future__ import annotations

import copy
from collections import Counter

import torch
from captum.attr._core.deep_lift import SUPPORTED_NON_LINEAR
from torch import Tensor, nn

from gaia_core.attribution.errors import AttributionError


def private_copy(model: nn.Module) -> nn.Module:
    """A hook-free, eval-mode, gradient-free deep copy with no in-place activations."""
    # Pre-seeding deepcopy's memo with empty dicts for every hook dict means hooks other
    # threads hold on the shared model are never copied, nor iterated while they change.
    memo: dict[int, object] = {}
    for module in model.modules():
        for name, value in vars(module).items():
            if "hooks" in name and isinstance(value, dict):
                memo[id(value)] = type(value)()
    try:
        clone = copy.deepcopy(model, memo)
    except Exception as error:
        raise AttributionError(
            f"cannot copy {type(model).__name__} for attribution ({error}); attribution needs a "
            "model that copy.deepcopy can copy (no locks, files or generators as attributes)."
        ) from error
    clone.eval()
    for parameter in clone.parameters():
        parameter.requires_grad_(False)
    for module in clone.modules():
        # DeepLift and Guided Backprop read an activation's input after the forward pass.
        if getattr(module, "inplace", False) is True:
            module.inplace = False
    return clone


class _PerCallModule(nn.Module):
    """Stands in for an activation that one forward pass calls several times (torchvision's
    BasicBlock calls its `relu` twice): call k of each pass goes to its own copy, so DeepLift's
    per-module saved input/output and Guided Backprop's per-module hooks see a single call.
    Assumes every forward pass makes the same number of calls, true of static architectures.
    """

    def __init__(self, module: nn.Module, calls_per_forward: int) -> None:
        super().__init__()
        self.per_call = nn.ModuleList(copy.deepcopy(module) for _ in range(calls_per_forward))
        self._next_call = 0

    def forward(self, *args, **kwargs):
        module = self.per_call[self._next_call]
        self._next_call = (self._next_call + 1) % len(self.per_call)
        return module(*args, **kwargs)


def split_reused_activations(clone: nn.Module, example: Tensor) -> list[str]:
    """Gives each call of a reused non-linear module (the kinds DeepLift hooks) its own module.

    Runs one forward pass on `example` (1, C, H, W) to count calls. Only for private copies:
    this edits the module tree in place.

    Returns:
        The dotted names of the modules that were split.
    """
    calls: Counter[int] = Counter()
    candidates = [m for m in clone.modules() if type(m) in SUPPORTED_NON_LINEAR]

    def count(module: nn.Module, _inputs) -> None:
        calls[id(module)] += 1

    handles = []
    try:
        for module in candidates:
            handles.append(module.register_forward_pre_hook(count))
        with torch.no_grad():
            clone(example)
    finally:
        for handle in handles:
            handle.remove()

    reused = {id(m): m for m in candidates if calls[id(m)] > 1}
    if not reused:
        return []
    replacements = {key: _PerCallModule(module, calls[key]) for key, module in reused.items()}
    split = []
    for parent_name, parent in list(clone.named_modules()):
        for child_name, child in list(parent._modules.items()):
            if child is not None and id(child) in replacements:
                setattr(parent, child_name, replacements[id(child)])
                split.append(f"{parent_name}.{child_name}" if parent_name else child_name)
    return split
