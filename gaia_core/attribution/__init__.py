"""Attribution maps with Captum: which pixels drive a prediction, for ID and OOD inputs alike.

GAIA's premise is that gradient-based explanations of OOD inputs are abnormal; this package
makes those explanations visible. One uniform call computes a map with any registered Captum
method (optionally smoothed by NoiseTunnel) on a private copy of the model, so the shared
model and concurrent sessions are never disturbed:

    from gaia_core.attribution import AttributionConfig, attribute
    result = attribute(model, x, AttributionConfig(method="integrated_gradients"))
    result.maps  # float32 (B, H, W)

`baselines` builds the reference inputs (a constant, the input blurred, uniform noise), `overlay`
renders maps without matplotlib (heat map by sign, colour bar, blend, grid, PNG export) and
`readout` measures how concentrated a map is (Gini sparsity, normalized entropy).
"""

from gaia_core.attribution.baselines import BASELINE_TYPES
from gaia_core.attribution.compute import attribute, cam_layers, default_cam_layer
from gaia_core.attribution.config import NOISE_TUNNEL_TYPES, AttributionConfig, AttributionResult
from gaia_core.attribution.errors import AttributionError
from gaia_core.attribution.methods import METHODS, MethodSpec, available_methods, method_spec

__all__ = [
    "BASELINE_TYPES",
    "METHODS",
    "NOISE_TUNNEL_TYPES",
    "AttributionConfig",
    "AttributionError",
    "AttributionResult",
    "MethodSpec",
    "attribute",
    "available_methods",
    "cam_layers",
    "default_cam_layer",
    "method_spec",
]
