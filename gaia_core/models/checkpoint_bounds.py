"""What a checkpoint file may declare, checked before any tensor of it is read.

A zip record (in a ``.pt`` or a ``.npz``) declares its inflated size, a ``.npy`` header a shape and
dtype, a safetensors header every tensor's shape and dtype. A hostile file can declare far more than
its own size (a deflated record of zeros inflates about 1000:1; a 100-byte ``.npy`` header can declare
4 TB), so every loader asks this module first and reads nothing when the declarations pass the limit:
the model's own parameter and buffer bytes with a margin when the model is known, the file-size limit
otherwise.
"""

from __future__ import annotations

import json
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from torch import nn

from gaia_core.errors import GaiaError
from gaia_core.safety.uploads import megabytes

# A checkpoint may declare this much more than the model it is loaded into holds ...
MODEL_MARGIN = 1.25
# ... plus this many bytes (a head with more classes, small extra buffers).
MODEL_SLACK = 16 * 2**20
# safetensors' element sizes by its dtype names.
SAFETENSORS_DTYPES = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
    "U16": 2,
    "I16": 2,
    "F16": 2,
    "BF16": 2,
    "U32": 4,
    "I32": 4,
    "F32": 4,
    "U64": 8,
    "I64": 8,
    "F64": 8,
}
_SHOWN_CHARS = 60


class CheckpointError(GaiaError, ValueError):
    """A checkpoint cannot be read, is refused, or does not fit the model."""


@dataclass(frozen=True)
class DeclaredLimits:
    """How much a checkpoint file may declare."""

    # Most bytes the tensors read from the file may declare in all.
    max_bytes: int
    # Largest inflated/stored size ratio of a compressed zip record (real weights compress ~1.1:1).
    max_ratio: float = 100.0
    # Compressed records declaring at most this many bytes skip the ratio check (small metadata).
    ratio_floor: int = 2**20
    # Most records in one zip archive.
    max_records: int = 100_000
    # Largest metadata part read whole: a safetensors JSON header, a torch ``data.pkl``.
    max_header_bytes: int = 64 * 2**20


def model_bytes(model: nn.Module) -> int:
    """Bytes of the model's parameters and buffers, as its state_dict holds them."""
    return sum(t.numel() * t.element_size() for t in model.state_dict().values())


def limits_for(model: nn.Module | None, file_limit: int) -> DeclaredLimits:
    """The model's own size with the margin; ``file_limit`` when no model is known."""
    if model is None:
        return DeclaredLimits(file_limit)
    return DeclaredLimits(int(model_bytes(model) * MODEL_MARGIN) + MODEL_SLACK)


def short(text: str, limit: int = _SHOWN_CHARS) -> str:
    """``text`` cut to ``limit`` characters (names taken from a hostile file can be any length)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check_total(declared: int, limits: DeclaredLimits, source: str, what: str = "tensors") -> None:
    """Refuse when ``declared`` bytes pass ``limits.max_bytes``."""
    if declared > limits.max_bytes:
        raise CheckpointError(
            f"refused {source}: it declares {megabytes(declared)} of {what}, over the "
            f"{megabytes(limits.max_bytes)} limit (the model's own size with a margin, or the file-size limit)"
        )


def zip_records(path: Path, limits: DeclaredLimits, source: str) -> dict[str, zipfile.ZipInfo]:
    """The records of a zip archive by name, from its central directory alone (nothing inflated).

    Raises:
        CheckpointError: not a zip archive, too many records, a stored record whose two sizes
            disagree, or a compressed record that inflates more than ``limits.max_ratio``.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            records = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as err:
        raise CheckpointError(f"{source} is not a readable zip archive ({err})") from None
    if len(records) > limits.max_records:
        raise CheckpointError(f"refused {source}: {len(records)} zip records, over the {limits.max_records} limit")
    for record in records:
        if record.compress_type == zipfile.ZIP_STORED and record.file_size != record.compress_size:
            raise CheckpointError(
                f"refused {source}: stored record {short(record.filename)!r} declares {record.file_size} bytes "
                f"but holds {record.compress_size}"
            )
        ratio = record.file_size / max(record.compress_size, 1)
        if record.file_size > limits.ratio_floor and ratio > limits.max_ratio:
            raise CheckpointError(
                f"refused {source}: record {short(record.filename)!r} declares {megabytes(record.file_size)} "
                f"from {megabytes(record.compress_size)} compressed ({ratio:.0f}:1, over {limits.max_ratio:.0f}:1; "
                "a compression bomb?)"
            )
    return {record.filename: record for record in records}


def is_compressed(records: dict[str, zipfile.ZipInfo]) -> bool:
    return any(r.compress_type != zipfile.ZIP_STORED for r in records.values())


@dataclass(frozen=True)
class NpyHeader:
    """What a ``.npy`` record declares."""

    # Array shape.
    shape: tuple[int, ...]
    # Element type.
    dtype: np.dtype
    # shape x itemsize.
    nbytes: int


def npy_header(stream: BinaryIO, record_bytes: int, source: str, key: str) -> NpyHeader:
    """Read a ``.npy`` header from ``stream`` (positioned at the record's start) and nothing more.

    Args:
        record_bytes: the record's declared size; the data after the header must fit in it.

    Raises:
        CheckpointError: a malformed header, a dtype that is not plain numbers (text, records,
            Python objects), or a shape larger than the record.
    """
    shown = short(key)
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise ValueError(f"unsupported .npy format version {version}")
        offset = stream.tell()
    except (ValueError, OSError, EOFError, SyntaxError, zipfile.BadZipFile) as err:
        raise CheckpointError(f"{source} is not a readable array file: {shown} has a broken header ({err})") from None
    if dtype.hasobject:
        raise CheckpointError(
            f"{source} is not a readable weights file: {shown} holds Python objects (reading it would need pickle)"
        )
    if dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in "biuf":
        kind = {"U": "text", "S": "bytes", "V": "records (a structured array)"}.get(dtype.kind, f"{dtype} values")
        raise CheckpointError(f"{source} is not a readable weights file: {shown} holds {kind}, not numbers")
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > record_bytes - offset:
        raise CheckpointError(
            f"refused {source}: {shown} declares shape {short(str(shape))} ({megabytes(nbytes)}) but its record "
            f"holds {megabytes(max(record_bytes - offset, 0))}"
        )
    return NpyHeader(tuple(shape), dtype, nbytes)


def safetensors_shapes(path: Path, limits: DeclaredLimits, source: str) -> dict[str, tuple[str, tuple[int, ...]]]:
    """Name -> (dtype, shape) of every tensor a safetensors file declares, checked against the file and
    ``limits`` (its 8-byte length and JSON header are read, nothing else).

    Raises:
        CheckpointError: a header that is short, too long, not JSON, or describes tensors that do not
            fit the file; or declarations over ``limits.max_bytes``.
    """
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise CheckpointError(
                f"{source} is not a readable safetensors file: {size} bytes, too short for its 8-byte header length"
            )
        header_len = int.from_bytes(head, "little")
        if not 0 < header_len <= min(limits.max_header_bytes, size - 8):
            raise CheckpointError(
                f"{source} is not a readable safetensors file: it declares a {header_len}-byte header "
                f"in a {size}-byte file"
            )
        raw = f.read(header_len)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise CheckpointError(f"{source} is not a readable safetensors file: its header is not JSON ({err})") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{source} is not a readable safetensors file: its header is not a JSON object")
    data_bytes = size - 8 - header_len
    shapes, total = {}, 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        shapes[name] = _safetensors_entry(name, entry, data_bytes, source)
        dtype, shape = shapes[name]
        total += math.prod(shape) * SAFETENSORS_DTYPES[dtype]
    check_total(total, limits, source)
    return shapes


def _safetensors_entry(name: str, entry: object, data_bytes: int, source: str) -> tuple[str, tuple[int, ...]]:
    broken = f"{source} is not a readable safetensors file: tensor {short(str(name))!r}"
    if not isinstance(entry, dict):
        raise CheckpointError(f"{broken} is not described by a JSON object")
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if dtype not in SAFETENSORS_DTYPES:
        raise CheckpointError(f"{broken} has an unknown dtype {short(str(dtype))!r}")
    if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
        raise CheckpointError(f"{broken} has no valid shape")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
        or not 0 <= offsets[0] <= offsets[1]
    ):
        raise CheckpointError(f"{broken} has no valid data offsets")
    nbytes = math.prod(shape) * SAFETENSORS_DTYPES[dtype]
    if offsets[1] - offsets[0] != nbytes:
        raise CheckpointError(f"{broken} declares shape {short(str(shape))} but {offsets[1] - offsets[0]} bytes")
    if offsets[1] > data_bytes:
        raise CheckpointError(f"{broken} lies past the end of the file")
    return dtype, tuple(shape)
