"""Uploaded checkpoints on disk, bounded: a folder of files named by content hash, least
recently used files evicted once the folder passes a size cap.

The loaders read files, so an upload is written once under its sha256 and reused when the same
content comes again. Setting: ``GAIA_CHECKPOINT_STORE_MB`` (default 4096) caps the folder
``$TMPDIR/gaia_checkpoints``; the file just stored is never evicted.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

STORE_ENV = "GAIA_CHECKPOINT_STORE_MB"
DEFAULT_CAP_MB = 4096


def store_dir() -> Path:
    return Path(tempfile.gettempdir()) / "gaia_checkpoints"


def cap_bytes() -> int:
    """The folder's size cap from ``$GAIA_CHECKPOINT_STORE_MB`` (MiB), else the default."""
    try:
        megabytes = float(os.environ.get(STORE_ENV, DEFAULT_CAP_MB))
    except ValueError:
        megabytes = DEFAULT_CAP_MB
    return int(max(megabytes, 0) * 2**20)


def store_checkpoint(
    data: bytes, filename: str, folder: Path | None = None, cap: int | None = None
) -> tuple[Path, str]:
    """Write (or reuse) an uploaded checkpoint and evict the least recently used others over the cap.

    Args:
        data: the file's bytes.
        filename: its name as uploaded (only the suffix is kept: it tells the loader the format).
        folder: the store (default `store_dir`).
        cap: size cap in bytes (default `cap_bytes`).

    Returns:
        (path of the stored file, sha256 of its content).
    """
    folder = store_dir() if folder is None else folder
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(data).hexdigest()
    path = folder / f"{digest}{Path(filename).suffix.lower()[:12]}"
    if path.exists():
        path.touch()  # most recently used
    else:
        handle, tmp = tempfile.mkstemp(dir=folder, prefix=".upload.")
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    evict(folder, cap_bytes() if cap is None else cap, keep=path)
    return path, digest


def evict(folder: Path, cap: int, keep: Path | None = None) -> list[Path]:
    """Delete the least recently used files until the folder holds at most ``cap`` bytes
    (``keep`` stays whatever its size). Returns the deleted paths."""
    files = []
    for entry in folder.iterdir():
        try:
            stat = entry.stat()
        except FileNotFoundError:  # another session evicted it meanwhile
            continue
        if entry.is_file() and not entry.name.startswith("."):
            files.append((stat.st_mtime, stat.st_size, entry))
    total = sum(size for _, size, _ in files)
    deleted = []
    for _, size, entry in sorted(files):
        if total <= cap:
            break
        if entry == keep:
            continue
        entry.unlink(missing_ok=True)
        total -= size
        deleted.append(entry)
    return deleted
