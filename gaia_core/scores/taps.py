"""Which layers GAIA looks at, by dotted module name, and the defaults per architecture.

Defaults (each can be overridden with explicit dotted names):
- GAIA-Z: every normalization layer (BatchNorm2d, SyncBatchNorm, GroupNorm, InstanceNorm2d).
- GAIA-A inner layers: ResNets and Wide-ResNets (torchvision and CIFAR-style): the norm
  layers inside ``layer3`` and ``layer4``; torchvision DenseNets: those inside
  ``features.denseblock3``, ``features.transition3``, ``features.denseblock4`` and
  ``features.norm5``; any other CNN: the second half of its norm layers in module order.
- Feature map F (the input of the global pool): ``layer4`` when the model has one, else
  ``features`` (torchvision DenseNet, MobileNet, EfficientNet; the DenseNets that
  ``gaia_core.models`` builds carry their final ReLU inside ``features``).
- Models that state their paper setting (``gaia_inner_layers`` / ``gaia_feature_layer``
  attributes: `gaia_core.models.wrn`, `gaia_core.models.bit`) get those.
- Classifier head (its input is the pooled feature vector): ``fc``, ``linear``,
  ``classifier`` or ``head``, else the last ``nn.Linear``.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from gaia_core.errors import GaiaError

NORM_TYPES = (nn.BatchNorm2d, nn.SyncBatchNorm, nn.GroupNorm, nn.InstanceNorm2d)
_DENSENET_LATE_STAGES = (
    "features.denseblock3",
    "features.transition3",
    "features.denseblock4",
    "features.norm5",
)
_HEAD_NAMES = ("fc", "linear", "classifier", "head")


class LayerError(GaiaError, ValueError):
    """A layer name does not exist, or a model lacks the layers a method needs."""


def get_layer(model: nn.Module, name: str) -> nn.Module:
    """The submodule at a dotted path, with an error that lists close alternatives."""
    try:
        return model.get_submodule(name)
    except AttributeError:
        names = [n for n, _ in model.named_modules() if n]
        hints = [n for n in names if n.split(".")[-1] == name.split(".")[-1]][:5] or names[:8]
        raise LayerError(
            f"{type(model).__name__} has no layer named '{name}'. Some layers it has: {', '.join(hints)}."
        ) from None


def has_layer(model: nn.Module, name: str) -> bool:
    try:
        model.get_submodule(name)
    except AttributeError:
        return False
    return True


def norm_layers(model: nn.Module, within: Sequence[str] = ()) -> list[str]:
    """Dotted names of the normalization layers, in module order, optionally under prefixes."""
    found = [n for n, m in model.named_modules() if isinstance(m, NORM_TYPES)]
    if within:
        found = [n for n in found if any(n == p or n.startswith(p + ".") for p in within)]
    return found


def _require(names: list[str], model: nn.Module, what: str, argument: str) -> list[str]:
    if not names:
        raise LayerError(
            f"{type(model).__name__} has no normalization layer ({', '.join(t.__name__ for t in NORM_TYPES)}) "
            f"for {what}. Pass {argument}=[...] with dotted names of layers whose output is (B, C, H, W)."
        )
    return names


def resolve_layers(model: nn.Module, names: Sequence[str] | None, default: list[str]) -> list[str]:
    """Explicit names (each checked to exist, duplicates dropped) or the given default."""
    if names is None:
        return default
    if isinstance(names, str):
        names = [names]
    for name in names:
        get_layer(model, name)
    if not names:
        raise LayerError("the list of layers is empty: name at least one layer, or pass None for the default")
    return list(dict.fromkeys(names))


def default_gaia_z_layers(model: nn.Module) -> list[str]:
    return _require(norm_layers(model), model, "GAIA-Z", "layers")


def default_gaia_a_layers(model: nn.Module) -> list[str]:
    if getattr(model, "gaia_inner_layers", None):  # a model that states its paper setting (WRN-40-2, BiT)
        return list(model.gaia_inner_layers)
    if has_layer(model, "layer3") and has_layer(model, "layer4"):
        names = norm_layers(model, within=("layer3", "layer4"))
    elif has_layer(model, "features.denseblock4"):
        names = norm_layers(model, within=_DENSENET_LATE_STAGES)
    else:
        all_norms = norm_layers(model)
        names = all_norms[len(all_norms) // 2 :]
    return _require(names, model, "GAIA-A", "inner_layers")


def default_feature_layer(model: nn.Module) -> str:
    if getattr(model, "gaia_feature_layer", None):
        return model.gaia_feature_layer
    for name in ("layer4", "features"):
        if has_layer(model, name):
            return name
    raise LayerError(
        f"cannot tell which layer of {type(model).__name__} outputs the last feature map "
        "(the input of the global average pool): pass feature_layer='<dotted name>'."
    )


def default_head_layer(model: nn.Module) -> str:
    for name in _HEAD_NAMES:
        if has_layer(model, name):
            return name
    linears = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise LayerError(f"{type(model).__name__} has no classifier head (no nn.Linear found).")
    return linears[-1]


def last_linear(model: nn.Module) -> str:
    """Dotted name of the last ``nn.Linear`` in module order (GradNorm's layer)."""
    linears = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise LayerError(f"{type(model).__name__} has no nn.Linear layer; GradNorm needs a linear classifier.")
    return linears[-1]
