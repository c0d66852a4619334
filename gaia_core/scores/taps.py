"""Which layers GAIA looks at, by dotted module name, and the defaults per architecture.

Defaults (each can be overridden with explicit dotted names):
- GAIA-Z: every normalization layer (BatchNorm2d, SyncBatchNorm, GroupNorm, InstanceNorm2d).
- GAIA-A inner layers: ResNets and Wide-ResNets (torchvision and CIFAR-style): the norm
  layers inside ``layer3`` and ``layer4``; torchvision DenseNets: those inside
  ``features.denseblock3``, ``features.transition3``, ``features.denseblock4`` and
  ``features.norm5``; any other CNN: the second half of its norm layers in module order.
- Feature map F (the input of the global pool): ``layer4`` when the model has one, else
  ``features`` (torchvision DenseNet, MobileNet, EfficientNet; the DenseNets that
  ``gaia_core.models`` builds carry their final ReLU inside ``features``). GAIA-A reads F there too,
  as the authors do on ResNets, except where a model states its own (`default_gaia_a_feature_layer`).
- Any other model (timm, one's own factory) by structure: F = the last top-level child before
  the pool/head children (``global_pool``, ``avgpool``, ``head``, ``fc``, ``classifier``, ...;
  a fused norm+activation there is read at its ``act``, which outputs F); GAIA-Z = every
  normalization before the head; GAIA-A = those of the last two stages, where timm's
  ``feature_info`` names the stage ends (norms after the end of the third-to-last stage, up to F).
- Models that state their paper setting get it: ``gaia_z_layers`` (BiT: the GroupNorms of its last
  block), ``gaia_inner_layers`` (WRN-40-2: every batch norm; BiT: the last block's GroupNorms),
  ``gaia_feature_layer`` (GAIA-A's F; on WRN-40-2 and BiT the pooled (B, C, 1, 1) output, which the
  authors hook: the output component then has no 1/(H*W) factor) and ``feature_map_layer`` (the
  spatial map the pool reads): `gaia_core.models.wrn`, `gaia_core.models.bit`.
- Classifier head, the module fed the pooled feature vector (ReAct's): ``fc``, ``linear``,
  ``classifier`` or ``head``, else the last ``nn.Linear``; a head that pools inside (timm's
  ``ClassifierHead``, ``NormMlpClassifierHead``) is read at its last linear map. The linear map to the
  logits (GradNorm's): the last ``nn.Linear`` or 1x1 ``nn.Conv2d`` (on a 1x1 map a linear layer).
"""

from __future__ import annotations

from collections.abc import Sequence

from timm.layers import LayerNorm2d, LayerNormAct2d, SelectAdaptivePool2d
from torch import Tensor, nn

from gaia_core.errors import GaiaError

# timm's fused norm+activation modules (BatchNormAct2d, GroupNormAct, LayerNormAct2d, ...) subclass
# these, so they count as normalizations; `tap_module` decides where their value is read.
NORM_TYPES = (nn.BatchNorm2d, nn.SyncBatchNorm, nn.GroupNorm, nn.InstanceNorm2d, LayerNorm2d, LayerNormAct2d)
_DENSENET_LATE_STAGES = (
    "features.denseblock3",
    "features.transition3",
    "features.denseblock4",
    "features.norm5",
)
_HEAD_NAMES = ("fc", "linear", "classifier", "head")
# Top-level children that start the head: F is the last child before the first of them.
_POOL_OR_HEAD_NAMES = (*_HEAD_NAMES, "global_pool", "avgpool", "pool", "head_drop", "pre_logits", "flatten")


class LayerError(GaiaError, ValueError):
    """A layer name does not exist, or a model lacks the layers a method needs."""


def is_fused_norm_act(module: nn.Module) -> bool:
    """A normalization that applies its own activation (timm's ``BatchNormAct2d`` and kin)."""
    return isinstance(module, NORM_TYPES) and isinstance(getattr(module, "act", None), nn.Module)


def tap_module(model: nn.Module, name: str) -> tuple[nn.Module, bool]:
    """Where a tapped layer's value is read: (module, read_input).

    GAIA taps a normalization's output before the activation. A fused norm+activation
    returns the activated value, so it is read at the input of its ``act`` submodule
    (``read_input=True``; in eval mode its dropout is the identity). Any other layer is
    read at its own output.
    """
    module = get_layer(model, name)
    if is_fused_norm_act(module):
        return module.act, True
    return module, False


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
    if getattr(model, "gaia_z_layers", None):  # a model that states its paper setting (BiT)
        return list(model.gaia_z_layers)
    return _require(_body_norms(model), model, "GAIA-Z", "layers")


def _body_children(model: nn.Module) -> list[str]:
    """Top-level children that make the feature map: those before the first pool/head child."""
    body = []
    for name, child in model.named_children():
        if name in _POOL_OR_HEAD_NAMES or isinstance(child, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
            break
        body.append(name)
    return body


def _body_norms(model: nn.Module) -> list[str]:
    """Normalizations of the feature extractor; for timm-style models the head's norm (applied to
    the pooled (B, C, 1, 1) vector, e.g. ConvNeXt's ``head.norm``) is left out."""
    norms = norm_layers(model)
    if not _has_feature_info(model):
        return norms
    return norms and norm_layers(model, within=_body_children(model))


def _has_feature_info(model: nn.Module) -> bool:
    info = getattr(model, "feature_info", None)
    return isinstance(info, list) and all(isinstance(i, dict) and "module" in i for i in info) and len(info) > 0


def _structural_gaia_a_layers(model: nn.Module) -> list[str]:
    norms = _body_norms(model)
    info = model.feature_info if _has_feature_info(model) else []
    if len(info) < 3:
        return norms[len(norms) // 2 :]
    order = [n for n, _ in model.named_modules()]
    end = info[-3]["module"]
    boundary = max(i for i, n in enumerate(order) if n == end or n.startswith(end + "."))
    position = {n: i for i, n in enumerate(order)}
    return [n for n in norms if position[n] > boundary]


def default_gaia_a_layers(model: nn.Module) -> list[str]:
    if getattr(model, "gaia_inner_layers", None):  # a model that states its paper setting (WRN-40-2, BiT)
        return list(model.gaia_inner_layers)
    if has_layer(model, "layer3") and has_layer(model, "layer4"):
        names = norm_layers(model, within=("layer3", "layer4"))
    elif has_layer(model, "features.denseblock4"):
        names = norm_layers(model, within=_DENSENET_LATE_STAGES)
    else:
        names = _structural_gaia_a_layers(model)
    return _require(names, model, "GAIA-A", "inner_layers")


def default_gaia_a_feature_layer(model: nn.Module) -> str:
    """GAIA-A's F: the model's stated paper setting (``gaia_feature_layer``; the pooled output on
    WRN-40-2 and BiT, as the authors hook it), else the last feature map (`default_feature_layer`)."""
    if getattr(model, "gaia_feature_layer", None):
        return model.gaia_feature_layer
    return default_feature_layer(model)


def default_feature_layer(model: nn.Module) -> str:
    """The last spatial feature map (B, C, H, W), the input of the global average pool."""
    if getattr(model, "feature_map_layer", None):
        return model.feature_map_layer
    for name in ("layer4", "features"):
        if has_layer(model, name):
            return name
    body = _body_children(model)
    if body and len(body) < len(list(model.named_children())):
        last = body[-1]
        module = get_layer(model, last)
        if is_fused_norm_act(module):
            return f"{last}.act"
        # A plain norm registered last is followed by an activation module registered elsewhere
        # (a shared ReLU): its output is not what the pool sees, so the structure cannot tell F.
        if not isinstance(module, NORM_TYPES):
            return last
    raise LayerError(
        f"cannot tell which layer of {type(model).__name__} outputs the last feature map "
        "(the input of the global average pool): pass feature_layer='<dotted name>'."
    )


def is_linear_map(module: nn.Module) -> bool:
    """An ``nn.Linear``, or a 1x1 ``nn.Conv2d`` (stride 1, no padding, one group): on a (B, C, 1, 1)
    input the same map as a linear layer."""
    if isinstance(module, nn.Linear):
        return True
    return (
        isinstance(module, nn.Conv2d)
        and tuple(module.kernel_size) == (1, 1)
        and tuple(module.stride) == (1, 1)
        and tuple(module.padding) == (0, 0)
        and module.groups == 1
    )


def _linear_maps(module: nn.Module) -> list[str]:
    return [n for n, m in module.named_modules() if n and is_linear_map(m)]


def _pools_inside(module: nn.Module) -> bool:
    return any(
        isinstance(m, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d, SelectAdaptivePool2d)) for m in module.modules()
    )


def default_head_layer(model: nn.Module) -> str:
    """The module fed the pooled feature vector (ReAct clips its input)."""
    for name in _HEAD_NAMES:
        if has_layer(model, name):
            head = get_layer(model, name)
            inner = _linear_maps(head)
            if not is_linear_map(head) and _pools_inside(head) and inner:
                return f"{name}.{inner[-1]}"  # the pool is inside the head: read its linear map
            return name
    linears = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise LayerError(f"{type(model).__name__} has no classifier head (no nn.Linear found).")
    return linears[-1]


def last_linear(model: nn.Module) -> str:
    """Dotted name of the last linear map to the logits (GradNorm's layer): the last ``nn.Linear``
    or 1x1 ``nn.Conv2d`` in module order."""
    maps = _linear_maps(model)
    if not maps:
        raise LayerError(
            f"{type(model).__name__} has no nn.Linear (or 1x1 convolution) layer; GradNorm needs a linear classifier."
        )
    return maps[-1]


def apply_linear_map(module: nn.Module, features: Tensor) -> Tensor:
    """A head module on pooled features (B, D) -> (B, K); a 1x1 convolution gets them as (B, D, 1, 1)."""
    if isinstance(module, nn.Conv2d):
        return module(features[:, :, None, None]).flatten(1)
    return module(features)


def map_in_features(module: nn.Module) -> int:
    """Input width of a linear map (`is_linear_map`)."""
    return module.in_features if isinstance(module, nn.Linear) else module.in_channels
