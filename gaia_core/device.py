"""Where tensors go: the best available accelerator, else the CPU."""

from __future__ import annotations

import torch


def best_device() -> torch.device:
    """The first CUDA device when CUDA is available, otherwise the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


def model_device(model: torch.nn.Module) -> torch.device:
    """The device of a model's first parameter or buffer (CPU for a stateless model)."""
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")
