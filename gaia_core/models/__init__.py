"""Models by name: the embedded demo, CIFAR ResNets, torchvision ImageNet classifiers."""

from gaia_core.models.checkpoint import (
    CheckpointError,
    load_state_dict_into,
    read_state_dict,
    weights_fingerprint,
)
from gaia_core.models.registry import (
    ModelSpec,
    available_models,
    class_label,
    get_spec,
    load_model,
    output_classes,
)

__all__ = [
    "CheckpointError",
    "ModelSpec",
    "available_models",
    "class_label",
    "get_spec",
    "load_model",
    "load_state_dict_into",
    "output_classes",
    "read_state_dict",
    "weights_fingerprint",
]
