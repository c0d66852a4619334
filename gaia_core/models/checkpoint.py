"""Reading weights safely: safetensors, or torch's weights-only unpickler, never plain pickle."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import Tensor, nn

from gaia_core.errors import GaiaError
from gaia_core.safety.uploads import MB, megabytes

MAX_CHECKPOINT_BYTES = 2000 * MB
HEAD_PREFIXES = ("fc.", "linear.", "classifier", "head.")
_WRAPPER_KEYS = ("state_dict", "model_state_dict", "model", "net", "network")


class CheckpointError(GaiaError, ValueError):
    """A checkpoint cannot be read, is refused, or does not fit the model."""


def read_state_dict(path: str | Path, max_bytes: int = MAX_CHECKPOINT_BYTES) -> dict[str, Tensor]:
    """Tensors of a checkpoint file, on the CPU.

    The format is decided by content: a safetensors header, else a torch file read with
    ``torch.load(weights_only=True)``. Files that would need arbitrary unpickling are refused.
    Wrappers such as {"state_dict": ...} and DataParallel's "module." prefix are removed.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    size = path.stat().st_size
    if size > max_bytes:
        raise CheckpointError(f"checkpoint {path.name} is {megabytes(size)}, over the {megabytes(max_bytes)} limit")
    if _looks_like_safetensors(path):
        try:
            state = load_file(str(path))
        except (SafetensorError, OSError, ValueError) as err:
            raise CheckpointError(f"{path.name} is not a readable safetensors file: {err}") from None
    else:
        state = _torch_load(path)
    return _unwrap(state, path.name)


def _looks_like_safetensors(path: Path) -> bool:
    with path.open("rb") as f:
        head = f.read(9)
    if len(head) < 9:
        return False
    header_len = int.from_bytes(head[:8], "little")
    return head[8:9] == b"{" and 0 < header_len < 100 * 2**20


def _torch_load(path: Path) -> object:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            f"refused {path.name}: it holds Python objects beyond plain tensors, which could run code "
            f"when loaded ({_first_line(err)}). Save the state_dict alone, ideally as .safetensors."
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError) as err:
        raise CheckpointError(f"{path.name} is not a readable PyTorch checkpoint: {_first_line(err)}") from None


def _first_line(err: Exception) -> str:
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__


def _unwrap(state: object, source: str) -> dict[str, Tensor]:
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
    if all(k.startswith("module.") for k in tensors):
        tensors = {k[len("module.") :]: v for k, v in tensors.items()}
    return tensors


def _is_tensor_dict(state: dict) -> bool:
    return any(isinstance(v, Tensor) for v in state.values())


def load_state_dict_into(model: nn.Module, state: dict[str, Tensor], source: str) -> None:
    """Load ``state`` strictly, explaining missing and unexpected keys and shape mismatches."""
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
                shown = ", ".join(items[:6]) + (f", … ({len(items) - 6} more)" if len(items) > 6 else "")
                parts.append(f"{len(items)} {title}: {shown}.")
        if (
            mismatched_keys
            and all(k.startswith(HEAD_PREFIXES) for k in mismatched_keys)
            and not (missing or unexpected)
        ):
            parts.append("Only the classifier differs: pass the checkpoint's number of classes.")
        else:
            parts.append("Is it a checkpoint of another architecture? Pick the model it was trained as.")
        raise CheckpointError(" ".join(parts))
    model.load_state_dict(state, strict=True)


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
