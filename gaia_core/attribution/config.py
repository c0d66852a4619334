"""What to compute (`AttributionConfig`) and what comes back (`AttributionResult`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gaia_core.attribution.baselines import BASELINE_TYPES
from gaia_core.attribution.errors import AttributionError
from gaia_core.attribution.methods import method_spec
from gaia_core.attribution.overlay import SIGN_ALIASES, SIGNS

NOISE_TUNNEL_TYPES = ("smoothgrad", "smoothgrad_sq", "vargrad")


@dataclass(frozen=True)
class AttributionConfig:
    """One attribution request; every field has a default that suits 32x32 to 224x224 inputs.

    Baselines and noise are in the model's normalized input space, where 0 is the dataset's
    mean image and the data's per-channel standard deviation is 1.
    """

    # Registered method name, see `available_methods()`.
    method: str = "saliency"
    # None, or a NoiseTunnel smoothing of the method: "smoothgrad", "smoothgrad_sq", "vargrad".
    noise_tunnel: str | None = None
    # NoiseTunnel: noisy copies averaged per input.
    nt_samples: int = 8
    # NoiseTunnel: standard deviation of the Gaussian noise added to the normalized input.
    nt_stdev: float = 0.5
    # Integrated Gradients: points on the path from the baseline to the input.
    n_steps: int = 32
    # GradientShap: random (baseline, path point) draws per input.
    n_samples: int = 16
    # Reference input of IG, DeepLift, GradientShap and Occlusion: one value for all channels or
    # one per channel (0 = the mean image; black is tuple(-m / s for m, s in zip(mean, std))).
    baseline: float | tuple[float, ...] = 0.0
    # Reference input of IG, DeepLift and Occlusion (`gaia_core.attribution.baselines`): "constant"
    # (every pixel `baseline`), "blurred" (the input blurred) or "uniform_noise" (seeded by `seed`).
    baseline_type: str = "constant"
    # "blurred": standard deviation of the Gaussian blur, as a fraction of the shorter image side.
    blur_sigma: float = 0.1
    # Upper bound on the model inputs evaluated at once by IG, GradientShap, NoiseTunnel, Occlusion.
    internal_batch_size: int = 32
    # Inputs of the caller's batch processed together.
    batch_size: int = 16
    # Occlusion: side of the square patch replaced by the baseline, in pixels.
    occlusion_window: int = 8
    # Occlusion: step between patches in pixels; None = half the window.
    occlusion_stride: int | None = None
    # Grad-CAM and Guided Grad-CAM: dotted name of the layer whose output is explained;
    # None = the last feature map (`gaia_core.scores.taps.default_feature_layer`, else the last Conv2d).
    layer: str | None = None
    # Grad-CAM: keep only evidence for the target (ReLU of the map), as in the Grad-CAM paper.
    cam_relu: bool = True
    # Also return the per-input-channel maps (B, C, H, W).
    keep_channels: bool = False
    # Seed of the noise of GradientShap, NoiseTunnel and the uniform-noise baseline, reset per input
    # so that an input's map does not depend on its batch; None = fresh randomness every call.
    seed: int | None = 0
    # How the maps are shown, as Captum's `visualize_image_attr` signs them: "absolute" (|map|, Captum's
    # "absolute_value"), "positive", "negative" or "all" (diverging colours). The maps themselves stay
    # signed as Captum returns them, and the concentration readouts always measure |map|.
    sign: str = "absolute"

    def __post_init__(self) -> None:
        method_spec(self.method)  # raises on an unknown method
        if self.noise_tunnel is not None and self.noise_tunnel not in NOISE_TUNNEL_TYPES:
            raise AttributionError(
                f"unknown noise tunnel '{self.noise_tunnel}'; use None or one of {', '.join(NOISE_TUNNEL_TYPES)}"
            )
        positive = ("nt_samples", "n_steps", "n_samples", "internal_batch_size", "batch_size", "occlusion_window")
        for name in positive:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise AttributionError(f"{name} must be a positive integer, got {value!r}")
        stride = self.occlusion_stride
        if stride is not None and (isinstance(stride, bool) or not isinstance(stride, int) or stride < 1):
            raise AttributionError(f"occlusion_stride must be a positive integer or None, got {stride!r}")
        if not self.nt_stdev >= 0:
            raise AttributionError(f"nt_stdev must be >= 0, got {self.nt_stdev!r}")
        if isinstance(self.baseline, list):
            object.__setattr__(self, "baseline", tuple(self.baseline))
        object.__setattr__(self, "sign", SIGN_ALIASES.get(self.sign, self.sign))
        if self.sign not in SIGNS:
            raise AttributionError(f"unknown sign '{self.sign}'; use one of {', '.join(SIGNS)} (or 'absolute_value')")
        if self.baseline_type not in BASELINE_TYPES:
            raise AttributionError(
                f"unknown baseline_type '{self.baseline_type}'; use one of {', '.join(BASELINE_TYPES)}"
            )
        if self.baseline_type != "constant" and not method_spec(self.method).uses_baseline:
            raise AttributionError(
                f"{method_spec(self.method).label} takes no reference image, so baseline_type must be 'constant'; "
                "a blurred or noise baseline applies to integrated_gradients, deeplift and occlusion "
                "(GradientShap draws its own baselines around `baseline`)."
            )
        if not self.blur_sigma > 0:
            raise AttributionError(f"blur_sigma must be > 0, got {self.blur_sigma!r}")

    @property
    def stochastic(self) -> bool:
        """Whether the maps depend on random draws (NoiseTunnel or GradientShap)."""
        return self.noise_tunnel is not None or self.method == "gradient_shap"


@dataclass(frozen=True)
class AttributionResult:
    """Attribution maps of one batch.

    Attributes:
        method: the registered method name.
        maps: float32 (B, H, W), the attribution summed over input channels (Grad-CAM: the
            class-activation map upsampled to the input).
        target: int64 (B,) the class each map explains.
        predicted: int64 (B,) the model's predicted class.
        channel_maps: float32 (B, C, H, W) per input channel when `keep_channels` was set, else
            None. Grad-CAM has no input-channel resolution: its map is repeated on each channel.
        layer: the dotted layer name Grad-CAM methods explained; None for the others.
        config: the request that produced the maps (its ``sign`` says how to show them).
    """

    method: str
    maps: np.ndarray
    target: np.ndarray
    predicted: np.ndarray
    channel_maps: np.ndarray | None
    layer: str | None
    config: AttributionConfig
