"""The one uniform call: `attribute(model, x, config, target)`."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import torch
from captum.attr import LayerAttribution, NoiseTunnel
from torch import Tensor, nn

from gaia_core.attribution.config import AttributionConfig, AttributionResult
from gaia_core.attribution.errors import AttributionError
from gaia_core.attribution.methods import MethodSpec, method_spec
from gaia_core.attribution.private_copy import private_copy, split_reused_activations
from gaia_core.device import model_device
from gaia_core.progress import Progress
from gaia_core.scores.taps import LayerError, default_feature_layer, get_layer

# Captum announces every hook it sets; here they are set on a private copy and always removed.
warnings.filterwarnings(
    "ignore",
    message=r"\s*Setting (forward, backward hooks|backward hooks on ReLU)",
    category=UserWarning,
    module=r"captum\.",
)

# Captum draws its noise from the global torch and numpy generators, so seeded draws of
# concurrent calls must take turns.
_GLOBAL_RNG_LOCK = threading.Lock()

TargetLike = int | Sequence[int] | np.ndarray | Tensor | None


def attribute(
    model: nn.Module,
    x: Tensor,
    config: AttributionConfig | None = None,
    target: TargetLike = None,
    progress: Progress | None = None,
) -> AttributionResult:
    """Attribution maps of a batch with one Captum method, computed on a private model copy.

    The caller's model is only read: Captum's hooks, the switch to eval mode and to
    out-of-place activations all happen on a deep copy, so threads sharing the model (GAIA
    scoring, other attributions) are not disturbed.

    Args:
        model: classifier returning logits (B, K); not modified.
        x: (B, C, H, W) normalized input; computed on the model's device.
        config: method and its settings; None = Saliency with defaults.
        target: class explained per input: None = the predicted class, an int for every input,
            or (B,) ints.
        progress: called with (inputs done, inputs in total) after each chunk.

    Returns:
        AttributionResult with maps (B, H, W), target (B,), predicted (B,) and, when
        `config.keep_channels`, channel_maps (B, C, H, W).

    Raises:
        AttributionError: x is not a 4-d float batch, a target is out of range, the method
            cannot apply to the model (Grad-CAM without a conv layer, say) or Captum fails.
    """
    config = config or AttributionConfig()
    spec = method_spec(config.method)
    _check_input(x, config)
    device = model_device(model)
    # inference_mode(False): a caller inside torch.inference_mode still gets gradients.
    with torch.inference_mode(False), torch.enable_grad():
        x = x.detach().to(device).clone()
        clone = private_copy(model)
        if spec.hooks_activations:
            split_reused_activations(clone, x[:1])
        layer_name, layer = _cam_layer(clone, config) if spec.uses_layer else (None, None)
        predicted, num_classes = _predict(clone, x, config.batch_size)
        targets = predicted.clone() if target is None else _targets(target, num_classes, batch=len(x))

        maps, channel_maps = [], []
        chunk = _chunk_size(spec, config)
        for start in range(0, len(x), chunk):
            x_chunk = x[start : start + chunk].detach().requires_grad_()
            t_chunk = targets[start : start + chunk].to(device)
            raw = _attribute_chunk(spec, clone, layer, x_chunk, t_chunk, config)
            per_channel = _to_input_space(raw, x_chunk, spec, layer_name)
            if per_channel.shape[1] != x.shape[1]:  # Grad-CAM: one map for all input channels
                per_channel = per_channel.expand(-1, x.shape[1], -1, -1)
                maps.append(per_channel[:, 0])
            else:
                maps.append(per_channel.sum(dim=1))
            if config.keep_channels:
                channel_maps.append(per_channel)
            if progress is not None:
                progress(min(start + chunk, len(x)), len(x))

    return AttributionResult(
        method=spec.name,
        maps=_numpy(torch.cat(maps)),
        target=targets.numpy().astype(np.int64),
        predicted=predicted.numpy().astype(np.int64),
        channel_maps=_numpy(torch.cat(channel_maps)) if config.keep_channels else None,
        layer=layer_name,
        config=config,
    )


def _check_input(x: Tensor, config: AttributionConfig) -> None:
    if not isinstance(x, Tensor) or x.dim() != 4 or not x.is_floating_point():
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise AttributionError(
            f"x must be a float tensor (B, C, H, W) of normalized images, got {shape}; "
            "add a batch dimension with x.unsqueeze(0) for a single image."
        )
    if len(x) == 0:
        raise AttributionError("x is an empty batch; pass at least one image.")
    if isinstance(config.baseline, tuple) and len(config.baseline) != x.shape[1]:
        raise AttributionError(
            f"baseline has {len(config.baseline)} values for {x.shape[1]} input channels; "
            "pass one value, or one per channel."
        )


def default_cam_layer(model: nn.Module) -> str:
    """The layer Grad-CAM explains by default: the last feature map, else the last Conv2d.

    Raises:
        AttributionError: the model has no nn.Conv2d, so there is no spatial map to explain.
    """
    convs = [name for name, module in model.named_modules() if isinstance(module, nn.Conv2d)]
    if not convs:
        raise AttributionError(
            f"Grad-CAM needs a convolutional layer, and {type(model).__name__} has no nn.Conv2d. "
            "Pick a pixel method (saliency, integrated_gradients, ...) or set layer='<dotted name>' "
            "of a module whose output is (B, C, h, w)."
        )
    try:
        return default_feature_layer(model)
    except LayerError:
        return convs[-1]


def cam_layers(model: nn.Module) -> list[str]:
    """The layers Grad-CAM can explain, by dotted name in network order: the model's top-level
    blocks that hold an nn.Conv2d (its conv stages, e.g. a ResNet's ``layer1`` .. ``layer4``) and
    every nn.Conv2d; `default_cam_layer` is one of them.

    Raises:
        AttributionError: the model has no nn.Conv2d.
    """
    default = default_cam_layer(model)
    names = []
    for name, module in model.named_modules():
        stage = bool(name) and "." not in name and any(isinstance(m, nn.Conv2d) for m in module.modules())
        if stage or isinstance(module, nn.Conv2d) or name == default:
            names.append(name)
    return names


def _cam_layer(clone: nn.Module, config: AttributionConfig) -> tuple[str, nn.Module]:
    name = config.layer if config.layer is not None else default_cam_layer(clone)
    try:
        return name, get_layer(clone, name)
    except LayerError as error:
        raise AttributionError(f"Grad-CAM layer: {error}") from None


def _predict(clone: nn.Module, x: Tensor, batch_size: int) -> tuple[Tensor, int]:
    """Predicted classes (B,) on the CPU, and the number of classes K."""
    with torch.no_grad():
        logits = [clone(x[start : start + batch_size]) for start in range(0, len(x), batch_size)]
    if not all(isinstance(t, Tensor) and t.dim() == 2 for t in logits):
        raise AttributionError(
            "the model must return one tensor of logits (B, K); wrap models that return tuples "
            "or dicts in a module whose forward returns the logits."
        )
    logits = torch.cat(logits)
    return logits.argmax(dim=1).cpu(), logits.shape[1]


def _targets(target: TargetLike, num_classes: int, batch: int) -> Tensor:
    values = torch.as_tensor(np.asarray(target.cpu() if isinstance(target, Tensor) else target))
    if values.dim() == 0:
        values = values.expand(batch)
    if values.shape != (batch,) or values.is_floating_point() or values.dtype == torch.bool:
        raise AttributionError(
            f"target must be None, an int or {batch} ints (one per input), got {tuple(values.shape)} "
            f"values of type {values.dtype}."
        )
    values = values.long()
    if (values < 0).any() or (values >= num_classes).any():
        raise AttributionError(f"target classes must lie in 0..{num_classes - 1}, got {values.tolist()}.")
    return values.clone()


def _chunk_size(spec: MethodSpec, config: AttributionConfig) -> int:
    if config.stochastic and config.seed is not None:
        return 1  # one input per seeded draw: its map does not depend on the rest of the batch
    return min(config.batch_size, max(1, config.internal_batch_size // spec.expansion))


def _attribute_chunk(
    spec: MethodSpec,
    clone: nn.Module,
    layer: nn.Module | None,
    x: Tensor,
    target: Tensor,
    config: AttributionConfig,
) -> Tensor:
    method = spec.build(clone, layer)
    try:
        with _seeded(config.seed if config.stochastic else None, x.device):
            if config.noise_tunnel is None:
                return method.attribute(x, target=target, **spec.arguments(x, config, len(x)))
            rounds = max(1, config.internal_batch_size // (len(x) * spec.expansion))
            rounds = min(rounds, config.nt_samples)
            return NoiseTunnel(method).attribute(
                x,
                nt_type=config.noise_tunnel,
                nt_samples=config.nt_samples,
                nt_samples_batch_size=rounds,
                stdevs=float(config.nt_stdev),
                target=target,
                **spec.arguments(x, config, len(x) * rounds),
            )
    except torch.OutOfMemoryError as error:
        raise AttributionError(
            f"{spec.label} ran out of memory on input {tuple(x.shape)}: lower internal_batch_size "
            f"(now {config.internal_batch_size}) or batch_size (now {config.batch_size})."
        ) from error
    except (AssertionError, RuntimeError) as error:
        raise AttributionError(
            f"{spec.label} failed on {type(clone).__name__} with input {tuple(x.shape)}: {error}"
        ) from error


@contextmanager
def _seeded(seed: int | None, device: torch.device) -> Iterator[None]:
    """Seeds torch's CPU (and the device's) generator and numpy's, restoring them after."""
    if seed is None:
        yield
        return
    cuda_devices = [device] if device.type == "cuda" else []
    with _GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=cuda_devices):
        numpy_state = np.random.get_state()
        torch.default_generator.manual_seed(seed)
        if cuda_devices:
            with torch.cuda.device(device):
                torch.cuda.manual_seed(seed)
        np.random.seed(seed)
        try:
            yield
        finally:
            np.random.set_state(numpy_state)


def _to_input_space(raw: Tensor, x: Tensor, spec: MethodSpec, layer_name: str | None) -> Tensor:
    """Per-channel attributions (B, C', H, W): layer maps upsampled to the input size."""
    if isinstance(raw, tuple):
        raw = raw[0]
    if spec.name == "grad_cam":
        if raw.dim() != 4:
            raise AttributionError(
                f"Grad-CAM needs a layer whose output is a feature map (B, C, h, w); '{layer_name}' "
                f"gives {raw.dim() - 1}-d maps per input. Pick a convolutional layer."
            )
        raw = LayerAttribution.interpolate(raw, tuple(x.shape[2:]), interpolate_mode="bilinear")
    if raw.shape[0] != x.shape[0] or tuple(raw.shape[2:]) != tuple(x.shape[2:]):
        raise AttributionError(
            f"{spec.label} gave maps of shape {tuple(raw.shape)} for input {tuple(x.shape)}; "
            f"check that layer '{layer_name}' outputs a feature map (B, C, h, w)."
        )
    return raw.detach()


def _numpy(maps: Tensor) -> np.ndarray:
    return maps.float().cpu().numpy().astype(np.float32, copy=False)
