"""Where tensors go: the best available accelerator, else the CPU."""

from __future__ import annotations

import os

import torch

from gaia_core.errors import ConfigError


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


SERVER_THREADS_ENV = "GAIA_TORCH_THREADS"


def configure_server_threads() -> int:
    """Set torch's intra-op threads for a server answering many sessions at once; returns them.

    Sessions already run in parallel (one script thread each); intra-op threads on top of them
    oversubscribe the cores, and OpenMP's spin-waiting then burns the CPU: on the 2-core demo
    server, scoring three images took 0.9 s of CPU with 2 threads under load and 0.04 s with 1.
    One thread unless the environment variable ``GAIA_TORCH_THREADS`` says otherwise (a server
    with one user and a big model may want every core).
    """
    value = os.environ.get(SERVER_THREADS_ENV, "1")
    try:
        threads = max(1, int(value))
    except ValueError:
        raise ConfigError(f"{SERVER_THREADS_ENV}={value!r} is not a number of threads; use e.g. 1 or 4") from None
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads
