"""The attribution methods by name: each is a Captum class plus the arguments it needs.

Nothing here re-implements an attribution: Captum computes every map. This module only maps
an `AttributionConfig` onto Captum's arguments, including the internal batching that keeps
memory bounded (`internal_batch_size` for Integrated Gradients, rounds of GradientShap
samples, `perturbations_per_eval` for Occlusion, `nt_samples_batch_size` for NoiseTunnel).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from captum.attr import (
    Attribution,
    Deconvolution,
    DeepLift,
    GradientShap,
    GuidedBackprop,
    GuidedGradCam,
    InputXGradient,
    IntegratedGradients,
    LayerGradCam,
    Occlusion,
    Saliency,
)
from torch import Tensor, nn

from gaia_core.attribution.baselines import baseline_images, baseline_tensor
from gaia_core.attribution.errors import AttributionError

if TYPE_CHECKING:  # a hint only: the config imports this module to check its method name
    from gaia_core.attribution.config import AttributionConfig


class BatchedGradientShap(GradientShap):
    """Captum's GradientShap, drawn in rounds of at most `max_batch` model inputs.

    Captum evaluates all `n_samples` draws of every input in one pass; on 224x224 inputs that
    does not fit in memory. The result is the same estimator: the draw-weighted mean of the
    rounds. The baseline distribution is passed as `baseline_distribution`, a name NoiseTunnel
    does not expand, so NoiseTunnel(BatchedGradientShap) keeps the whole distribution.
    """

    def attribute(  # type: ignore[override]
        self,
        inputs: Tensor,
        baseline_distribution: Tensor,
        target: Tensor | int | None = None,
        n_samples: int = 16,
        max_batch: int = 32,
    ) -> Tensor:
        per_round = max(1, max_batch // inputs.shape[0])
        total: Tensor | None = None
        done = 0
        while done < n_samples:
            draws = min(per_round, n_samples - done)
            part = GradientShap.attribute(self, inputs, baselines=baseline_distribution, n_samples=draws, target=target)
            total = part * draws if total is None else total + part * draws
            done += draws
        return total / n_samples

    # NoiseTunnel calls `attribute.__wrapped__` (the undecorated method of Captum's classes).
    attribute.__wrapped__ = attribute  # type: ignore[attr-defined]


@dataclass(frozen=True)
class MethodSpec:
    """How one attribution method is built and called."""

    # Registry key.
    name: str
    # Human-readable name for pickers.
    label: str
    # One sentence on what the map shows.
    description: str
    # Builds the Captum object on the private model copy; the layer is None for pixel methods.
    build: Callable[[nn.Module, nn.Module | None], Attribution]
    # Extra keyword arguments of `attribute`: (x chunk, config, inputs per NoiseTunnel round).
    arguments: Callable[[Tensor, AttributionConfig, int], dict[str, Any]]
    # Explains a layer (Grad-CAM family); the map is then upsampled to the input size.
    uses_layer: bool = False
    # Captum hooks the activations (they must be out-of-place and called once per forward).
    hooks_activations: bool = False
    # Model inputs evaluated per input at least (DeepLift evaluates input and baseline).
    expansion: int = 1
    # Its maps take both signs, so which part is shown (`AttributionConfig.sign`) matters.
    signed: bool = False
    # Explains the change from a reference image, one of `baselines.BASELINE_TYPES`.
    uses_baseline: bool = False


def reference_images(x: Tensor, config: AttributionConfig) -> Tensor:
    """The reference input (B, C, H, W) of each of x that the config asks for (`baseline_images`)."""
    return baseline_images(x, config.baseline_type, config.baseline, config.blur_sigma, config.seed)


def gradient_shap_baselines(x: Tensor, config: AttributionConfig, count: int = 8) -> Tensor:
    """GradientShap's baseline distribution (count, C, H, W): the constant baseline and
    count - 1 Gaussian baselines around it (unit std in normalized units), drawn from a
    private generator so concurrent calls stay reproducible."""
    generator = torch.Generator(device="cpu").manual_seed(0 if config.seed is None else config.seed)
    noise = torch.randn((count - 1, *x.shape[1:]), generator=generator).to(x.device, x.dtype)
    constant = baseline_tensor(x[:1], config.baseline)
    return torch.cat([constant, constant + noise])


def _occlusion_arguments(x: Tensor, config: AttributionConfig, inputs_per_round: int) -> dict[str, Any]:
    channels = x.shape[1]
    window = config.occlusion_window
    stride = config.occlusion_stride or max(1, window // 2)
    return {
        "sliding_window_shapes": (channels, window, window),
        "strides": (channels, stride, stride),
        "baselines": reference_images(x, config),
        "perturbations_per_eval": max(1, config.internal_batch_size // inputs_per_round),
    }


def _no_arguments(x: Tensor, config: AttributionConfig, inputs_per_round: int) -> dict[str, Any]:
    return {}


_SPECS = (
    MethodSpec(
        "saliency",
        "Saliency",
        "Absolute gradient of the target logit with respect to each pixel.",
        lambda model, layer: Saliency(model),
        lambda x, config, n: {"abs": True},
    ),
    MethodSpec(
        "integrated_gradients",
        "Integrated Gradients",
        "Gradients integrated along the straight path from the baseline to the input.",
        lambda model, layer: IntegratedGradients(model),
        lambda x, config, n: {
            "baselines": reference_images(x, config),
            "n_steps": config.n_steps,
            "internal_batch_size": max(config.internal_batch_size, n),
        },
        signed=True,
        uses_baseline=True,
    ),
    MethodSpec(
        "input_x_gradient",
        "Input x Gradient",
        "The input multiplied by the gradient of the target logit.",
        lambda model, layer: InputXGradient(model),
        _no_arguments,
        signed=True,
    ),
    MethodSpec(
        "guided_backprop",
        "Guided Backprop",
        "Gradient where every ReLU passes back only positive gradients of positive inputs.",
        lambda model, layer: GuidedBackprop(model),
        _no_arguments,
        hooks_activations=True,
        signed=True,
    ),
    MethodSpec(
        "deconvolution",
        "Deconvolution",
        "Gradient where every ReLU passes back only the positive part of the gradient.",
        lambda model, layer: Deconvolution(model),
        _no_arguments,
        hooks_activations=True,
        signed=True,
    ),
    MethodSpec(
        "deeplift",
        "DeepLift",
        "Contribution of each pixel to the change of the target logit from the baseline (Rescale rule).",
        lambda model, layer: DeepLift(model),
        lambda x, config, n: {"baselines": reference_images(x, config)},
        hooks_activations=True,
        expansion=2,
        signed=True,
        uses_baseline=True,
    ),
    MethodSpec(
        "gradient_shap",
        "GradientShap",
        "Expected Input x Gradient over random baselines and random points on the path to the input.",
        lambda model, layer: BatchedGradientShap(model),
        lambda x, config, n: {
            "baseline_distribution": gradient_shap_baselines(x, config),
            "n_samples": config.n_samples,
            "max_batch": config.internal_batch_size,
        },
        signed=True,
    ),
    MethodSpec(
        "occlusion",
        "Occlusion",
        "Drop of the target logit when a square patch is replaced by the baseline.",
        lambda model, layer: Occlusion(model),
        _occlusion_arguments,
        signed=True,
        uses_baseline=True,
    ),
    MethodSpec(
        "grad_cam",
        "Grad-CAM",
        "A layer's channels weighted by their mean gradient, upsampled to the image.",
        lambda model, layer: LayerGradCam(model, layer),
        lambda x, config, n: {"relu_attributions": config.cam_relu},
        uses_layer=True,
    ),
    MethodSpec(
        "guided_grad_cam",
        "Guided Grad-CAM",
        "Guided Backprop multiplied by the upsampled Grad-CAM map.",
        lambda model, layer: GuidedGradCam(model, layer),
        lambda x, config, n: {"interpolate_mode": "bilinear"},
        uses_layer=True,
        hooks_activations=True,
        signed=True,
    ),
)

METHODS: dict[str, MethodSpec] = {spec.name: spec for spec in _SPECS}


def available_methods() -> list[str]:
    """Registered method names, in display order."""
    return list(METHODS)


def method_spec(name: str) -> MethodSpec:
    """The spec of a registered method (label, description, what it needs)."""
    try:
        return METHODS[name]
    except KeyError:
        raise AttributionError(f"unknown attribution method '{name}'; available: {', '.join(METHODS)}") from None
