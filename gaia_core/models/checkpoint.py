"""Reading weights safely: safetensors, or torch's weights-only unpickler, never plain pickle.

Before any tensor is read, what the file declares is bounded (`gaia_core.models.checkpoint_bounds`):
at the model's own size with a margin when the model is given, at the file-size limit otherwise.
Every way an untrusted file can fail to parse is a `CheckpointError` naming the file.
"""

from __future__ import annotations

import hashlib
import math
import pickle
import zipfile
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from torch import Tensor, nn

from gaia_core.models.checkpoint_bounds import (
    SAFETENSORS_DTYPES,
    CheckpointError,
    DeclaredLimits,
    check_total,
    is_compressed,
    limits_for,
    safetensors_shapes,
    short,
    zip_records,
)
from gaia_core.safety.paths import path_kind, shown
from gaia_core.safety.uploads import MB, megabytes

MAX_CHECKPOINT_BYTES = 2000 * MB
HEAD_PREFIXES = ("fc.", "linear.", "classifier", "head.")
_WRAPPER_KEYS = ("state_dict", "model_state_dict", "model", "net", "network")
SAFETENSORS_TORCH_DTYPES = {
    "BOOL": torch.bool,
    "U8": torch.uint8,
    "I8": torch.int8,
    "F8_E4M3": torch.float8_e4m3fn,
    "F8_E5M2": torch.float8_e5m2,
    "U16": torch.uint16,
    "I16": torch.int16,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "U32": torch.uint32,
    "I32": torch.int32,
    "F32": torch.float32,
    "U64": torch.uint64,
    "I64": torch.int64,
    "F64": torch.float64,
}


def read_state_dict(
    path: str | Path,
    max_bytes: int = MAX_CHECKPOINT_BYTES,
    *,
    model: nn.Module | None = None,
    rename: Callable[[str], str] | None = None,
) -> dict[str, Tensor]:
    """Tensors of a checkpoint file, on the CPU.

    The format is decided by content: a safetensors header (or the ``.safetensors`` suffix), else a
    torch file read with ``torch.load(weights_only=True)``. Files that would need arbitrary
    unpickling are refused. Wrappers such as {"state_dict": ...} and DataParallel's "module."
    prefix are removed.

    Args:
        path: the file.
        max_bytes: largest file accepted.
        model: the model the weights are for. Only the tensors it has a key for are read, and they
            may declare at most its own size with a margin (`checkpoint_bounds.MODEL_MARGIN`,
            `MODEL_SLACK`); the others come back as shape-only ``meta`` tensors (so a mismatch can
            still be explained). Without a model everything is read, up to ``max_bytes``.
        rename: the file's key -> the model's key (after the wrapper and ``module.`` are removed).

    Raises:
        CheckpointError: missing, too large, declaring more than the cap, or not parseable.
    """
    path = Path(path)
    size = checked_size(path, max_bytes)
    limits = limits_for(model, max_bytes)
    names = _Names(None if model is None else set(model.state_dict()), rename)
    if path.suffix.lower() == ".safetensors" or _looks_like_safetensors(path):
        state = _read_safetensors(path, limits, DeclaredLimits(max_bytes), names)
    else:
        state = _torch_load(path, limits, size)
    return _unwrap(state, path.name, limits, names)


class _Names:
    """Which of a file's keys a model needs, and under which names."""

    def __init__(self, needed: set[str] | None, rename: Callable[[str], str] | None):
        self.needed = needed
        self.rename = rename or (lambda key: key)

    def final(self, keys: list[str]) -> dict[str, str]:
        """The file's key -> the model's key: ``module.`` removed when every key has it, then renamed."""
        strip = bool(keys) and all(k.startswith("module.") for k in keys)
        return {k: self.rename(k.removeprefix("module.") if strip else k) for k in keys}

    def wanted(self, key: str) -> bool:
        return self.needed is None or key in self.needed


def checked_size(path: Path, max_bytes: int) -> int:
    """The size of a checkpoint file that exists, is not empty and is at most ``max_bytes``."""
    kind = path_kind(path)
    if kind != "file":
        raise CheckpointError(
            f"checkpoint not found: {shown(path)}" if kind is None else f"{shown(path)} is not a file"
        )
    size = path.stat().st_size
    if size == 0:
        raise CheckpointError(f"{path.name} is empty (0 bytes): not a checkpoint")
    if size > max_bytes:
        raise CheckpointError(f"checkpoint {path.name} is {megabytes(size)}, over the {megabytes(max_bytes)} limit")
    return size


def _looks_like_safetensors(path: Path) -> bool:
    with path.open("rb") as f:
        head = f.read(9)
    if len(head) < 9:
        return False
    header_len = int.from_bytes(head[:8], "little")
    return head[8:9] == b"{" and 0 < header_len < 100 * 2**20


def _read_safetensors(
    path: Path, limits: DeclaredLimits, file_limits: DeclaredLimits, names: _Names
) -> dict[str, Tensor]:
    shapes = safetensors_shapes(path, file_limits, path.name)
    final = names.final(list(shapes))
    wanted = [key for key in shapes if names.wanted(final[key])]
    check_total(sum(_nbytes(*shapes[key]) for key in wanted), limits, path.name)
    try:
        with safe_open(str(path), framework="pt") as f:
            state = {key: f.get_tensor(key) for key in wanted}
    except (SafetensorError, OSError, ValueError, RuntimeError, TypeError) as err:
        raise CheckpointError(f"{path.name} is not a readable safetensors file: {_first_line(err)}") from None
    for key, (dtype, shape) in shapes.items():
        state.setdefault(key, torch.empty(shape, dtype=SAFETENSORS_TORCH_DTYPES[dtype], device="meta"))
    return state


def _nbytes(dtype: str, shape: tuple[int, ...]) -> int:
    return math.prod(shape) * SAFETENSORS_DTYPES[dtype]


def _torch_load(path: Path, limits: DeclaredLimits, size: int) -> object:
    """``torch.load(weights_only=True)`` after bounding what the file declares.

    A zip checkpoint whose records are all stored (what ``torch.save`` writes) is memory-mapped:
    nothing inflates, and records the model does not need (an optimizer's state) are never read.
    One with compressed records is read whole, so all its records together must fit the cap.
    """
    mmap = False
    if zipfile.is_zipfile(path):
        records = zip_records(path, limits, path.name)
        pickles = [r for name, r in records.items() if name == "data.pkl" or name.endswith("/data.pkl")]
        if not pickles:
            raise CheckpointError(f"{path.name} is a zip archive but not a PyTorch checkpoint (it has no data.pkl)")
        check_total(max(r.file_size for r in pickles), DeclaredLimits(limits.max_header_bytes), path.name, "pickle")
        if is_compressed(records):
            check_total(sum(r.file_size for r in records.values()), limits, path.name, "records")
        else:
            mmap = True
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            f"refused {path.name}: it holds Python objects beyond plain tensors, which could run code "
            f"when loaded ({_first_line(err)}). Save the state_dict alone, ideally as .safetensors."
        ) from None
    except Exception as err:  # a hostile file fails the unpickler in any way (IndexError on text, MemoryError, ...)
        raise CheckpointError(
            f"{path.name} is not a readable PyTorch checkpoint ({size} bytes): {type(err).__name__}: {_first_line(err)}"
        ) from None


def _first_line(err: Exception) -> str:
    lines = str(err).strip().splitlines()
    return short(lines[0], 200) if lines else type(err).__name__


def _unwrap(state: object, source: str, limits: DeclaredLimits, names: _Names) -> dict[str, Tensor]:
    for _ in range(3):
        if isinstance(state, dict) and not _is_tensor_dict(state):
            inner = next((state[k] for k in _WRAPPER_KEYS if isinstance(state.get(k), dict)), None)
            if inner is None:
                break
            state = inner
    if not isinstance(state, dict):
        raise CheckpointError(f"{source} does not contain a state_dict (found {type(state).__name__})")
    tensors = {k: v for k, v in state.items() if isinstance(k, str) and isinstance(v, Tensor)}
    if not tensors:
        raise CheckpointError(f"{source} contains no tensors")
    final = names.final(list(tensors))
    kept = {final[k]: v for k, v in tensors.items() if names.wanted(final[k])}
    check_total(sum(v.numel() * v.element_size() for v in kept.values() if not v.is_meta), limits, source)
    result = {}
    for key, value in tensors.items():
        if not names.wanted(final[key]):
            value = torch.empty(value.shape, dtype=value.dtype, device="meta")  # shape only, never read
        elif _is_mapped(value):
            value = value.clone()  # the one read of a memory-mapped tensor's bytes; no file stays mapped
        result[final[key]] = value
    return result


def _is_mapped(tensor: Tensor) -> bool:
    return not tensor.is_meta and tensor.untyped_storage().filename is not None


def _is_tensor_dict(state: dict) -> bool:
    return any(isinstance(v, Tensor) for v in state.values())


def load_state_dict_into(model: nn.Module, state: dict[str, Tensor], source: str) -> None:
    """Load ``state`` strictly, explaining missing and unexpected keys and shape mismatches.

    Raises:
        CheckpointError: the keys or shapes do not fit, or the weights are not finite
            (`check_finite_weights`).
    """
    expected = model.state_dict()
    missing = _ordered([k for k in expected if k not in state])
    unexpected = _ordered([k for k in state if k not in expected])
    mismatched_keys = [k for k, v in expected.items() if k in state and state[k].shape != v.shape]
    mismatched = [
        f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(expected[k].shape)}" for k in mismatched_keys
    ]
    if missing or unexpected or mismatched:
        parts = [f"{source} does not fit {type(model).__name__}."]
        for title, items in (
            ("missing keys", missing),
            ("unexpected keys", unexpected),
            ("shape mismatches", mismatched),
        ):
            if items:
                listed = ", ".join(short(k) for k in items[:6]) + (
                    f", … ({len(items) - 6} more)" if len(items) > 6 else ""
                )
                parts.append(f"{len(items)} {title}: {listed}.")
        if (
            mismatched_keys
            and all(k.startswith(HEAD_PREFIXES) for k in mismatched_keys)
            and not (missing or unexpected)
        ):
            parts.append("Only the classifier differs: pass the checkpoint's number of classes.")
        else:
            parts.append("Is it a checkpoint of another architecture? Pick the model it was trained as.")
        raise CheckpointError(" ".join(parts))
    check_finite_weights(state, source, parameters={name for name, _ in model.named_parameters()})
    model.load_state_dict(state, strict=True)


def check_finite_weights(state: dict[str, Tensor], source: str, parameters: set[str] | None = None) -> None:
    """Refuse weights holding NaN, or ±Inf in a parameter.

    Refused rather than warned about: every score of such a model is NaN or meaningless, and a page
    would otherwise blame the activations ("every channel's ratio is 1") for what the file holds.
    Buffers may hold ±Inf (attention masks do); ``parameters`` names the tensors that may not
    (default: every tensor).
    """
    bad = []
    for name, tensor in state.items():
        if tensor.is_meta or not (tensor.is_floating_point() or tensor.is_complex()):
            continue
        finite_needed = parameters is None or name in parameters
        if (not torch.isfinite(tensor).all()) if finite_needed else bool(torch.isnan(tensor).any()):
            bad.append(name)
    if bad:
        listed = ", ".join(short(k) for k in bad[:4]) + (f", … ({len(bad) - 4} more)" if len(bad) > 4 else "")
        raise CheckpointError(
            f"the weights contain NaN/Inf: {len(bad)} of {len(state)} tensors of {source} ({listed}). "
            "The file is broken (a diverged training run?); no score of it would mean anything."
        )


def _ordered(keys: list[str]) -> list[str]:
    """Parameters first, bookkeeping buffers last, so the message shows what matters."""
    return sorted(keys, key=lambda k: k.endswith("num_batches_tracked"))


def weights_fingerprint(model: nn.Module) -> str:
    """sha256 over the names, dtypes, shapes and bytes of the state_dict (for cache keys)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        data = tensor.detach().to("cpu").contiguous()
        digest.update(f"{name}|{data.dtype}|{tuple(data.shape)}|".encode())
        digest.update(data.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()
