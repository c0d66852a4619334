"""Where tensors go: the best available accelerator, else the CPU."""

from __future__ import annotations

import ctypes
import os
import platform
from dataclasses import dataclass

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


# glibc's mallopt parameters (malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
# Freed memory glibc keeps at the top of its heap before handing it back to the OS.
CPU_TRIM_THRESHOLD = 1 << 30


@dataclass(frozen=True)
class CpuProcessSettings:
    """What `configure_cpu_process` set for this process's memory allocator."""

    # The C library's allocator ("glibc 2.36"), or "" when it is not glibc (nothing is tuned there).
    allocator: str
    # M_MMAP_MAX: how many blocks malloc may take from mmap (0: none from the heap's arena); None: untouched.
    mmap_max: int | None
    # M_TRIM_THRESHOLD: bytes of freed memory kept at the heap's top instead of given back; None: untouched.
    trim_threshold: int | None

    def describe(self) -> str:
        """One line for reports: which settings the process runs with."""
        if self.mmap_max is None:
            return f"{self.allocator} malloc defaults" if self.allocator else "not glibc: allocator left as it is"
        return (
            f"{self.allocator} malloc: M_MMAP_MAX={self.mmap_max}, "
            f"M_TRIM_THRESHOLD={self.trim_threshold / 2**30:g} GiB (configure_cpu_process)"
        )


_cpu_process: CpuProcessSettings | None = None


def _glibc() -> tuple[ctypes.CDLL, str] | None:
    """This process's C library and its name when it is glibc, else None."""
    name, version = platform.libc_ver()
    if name != "glibc":
        return None
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    except (OSError, AttributeError):
        return None
    return libc, f"glibc {version}"


def allocator_defaults() -> CpuProcessSettings:
    """The settings of a process `configure_cpu_process` has not touched."""
    found = _glibc()
    return CpuProcessSettings(found[1] if found else "", None, None)


def configure_cpu_process() -> CpuProcessSettings:
    """Keep freed memory in the heap so that tensors reuse pages already mapped; returns what was set.

    With glibc's defaults every block above the mmap threshold (128 KiB, raised dynamically up to
    32 MiB) is a fresh ``mmap`` whose pages fault in on first touch and go back at ``free``; after a
    full backward the dynamic thresholds make GAIA-Z's allocations costlier still. ``M_MMAP_MAX = 0``
    serves every block from the heap and ``M_TRIM_THRESHOLD = 1 GiB`` keeps up to 1 GiB of freed
    memory there, so a pass reuses the pages of the previous one (``python -m gaia_core.bench``
    measures it). Call it once at the start of a program (every entry point does); importing
    gaia_core never does. Later calls return the first call's settings. Elsewhere than glibc it
    changes nothing.

    Threads: a thread other than the main one allocates from its own arena, whose heaps are at most
    64 MiB. A larger block cannot come from such a heap, and glibc then maps it with ``mmap`` even
    with ``M_MMAP_MAX = 0``: it never fails, it is as costly as with the defaults. Measured (glibc
    2.36, a 256 MiB torch tensor allocated and filled three times in a new thread after this call):
    65,536 page faults each time, as with the defaults, while in the main thread the heap serves it
    with 0 faults once grown; blocks up to 64 MiB in threads come from their heaps either way, and a
    GAIA-Z pass of ResNet-50 (batch 8) in a thread after a full backward faulted 54k-109k pages
    against 120k-144k with the defaults. ``M_ARENA_MAX = 1`` would put every thread on the main
    heap (0 faults) but serializes the server's concurrent sessions on one lock (4 threads scoring
    the demo: 1.7-2.4 s CPU against 1.5-1.8 s), so it is not set.
    """
    global _cpu_process
    if _cpu_process is None:
        _cpu_process = _apply_allocator_settings()
    return _cpu_process


def _apply_allocator_settings() -> CpuProcessSettings:
    found = _glibc()
    if found is None:
        return CpuProcessSettings("", None, None)
    libc, name = found
    if not (libc.mallopt(M_MMAP_MAX, 0) and libc.mallopt(M_TRIM_THRESHOLD, CPU_TRIM_THRESHOLD)):
        return CpuProcessSettings(name, None, None)
    return CpuProcessSettings(name, 0, CPU_TRIM_THRESHOLD)


def cpu_process_settings() -> CpuProcessSettings:
    """The allocator settings this process runs with: `configure_cpu_process`'s, or the defaults."""
    return _cpu_process or allocator_defaults()
