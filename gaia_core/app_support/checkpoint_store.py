"""Uploaded checkpoints on disk, bounded: a folder of files named by content hash, least
recently used files evicted once the folder passes a size cap.

The loaders read files, so an upload is written once under its sha256 and reused when the same
content comes again. The name it was uploaded under travels in the returned `StoredCheckpoint`
(not on disk: two sessions may upload one content under two names, and neither sees the other's),
so messages can say "resnet.pt" rather than a hash. Setting: ``GAIA_CHECKPOINT_STORE_MB`` (default 4096) caps the folder
``$TMPDIR/gaia_checkpoints``; the file just stored is never evicted.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

STORE_ENV = "GAIA_CHECKPOINT_STORE_MB"
DEFAULT_CAP_MB = 4096
# Longest display name kept, in characters.
NAME_CHARS = 120


@dataclass(frozen=True)
class StoredCheckpoint:
    """An upload on disk. Unpacks as ``(path, digest)``, the pair `store_checkpoint` returned before."""

    # The stored file, named by its content hash (the suffix kept).
    path: Path
    # sha256 of its content.
    digest: str
    # The file name it was uploaded under (`clean_name`).
    display_name: str

    def __iter__(self):
        return iter((self.path, self.digest))

    def named(self, text: str) -> str:
        """``text`` (e.g. a loader's message) with the stored file's name replaced by the upload's."""
        return text.replace(str(self.path), self.display_name).replace(self.path.name, self.display_name)


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
) -> StoredCheckpoint:
    """Write (or reuse) an uploaded checkpoint and evict the least recently used others over the cap.

    Args:
        data: the file's bytes.
        filename: its name as uploaded: the suffix tells the loader the format (the stored file
            keeps it); the whole name, cleaned, is the record's ``display_name``.
        folder: the store (default `store_dir`).
        cap: size cap in bytes (default `cap_bytes`).

    Returns:
        The stored file, its sha256 and its display name (unpacks as ``(path, digest)``).
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
    return StoredCheckpoint(path, digest, clean_name(filename) or path.name)


def clean_name(filename: str) -> str:
    """The base name of an uploaded file, without control characters, at most `NAME_CHARS` long."""
    base = str(filename).replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    return text if len(text) <= NAME_CHARS else text[: NAME_CHARS - 1] + "…"


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
