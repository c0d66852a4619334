"""An on-disk cache of results, made of small files written atomically.

A cache entry is a folder named by the sha256 of what the result depends on (weights, data,
method configuration, code version). Results are stored as chunks (``.npz`` of plain arrays,
read with ``allow_pickle=False``) and small JSON documents, each written to a temporary file
and moved into place with ``os.replace``: a run that stops half-way leaves every finished
chunk intact and no partial file, so the next run resumes from there. A writer killed outright
(``kill -9``) leaves its temporary file behind; opening the entry again deletes the temporary
files of writers that no longer run on this host, and any older than `STALE_TMP_SECONDS`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import tempfile
import time
import warnings
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

CACHE_ENV = "GAIA_CACHE_DIR"
# A temporary file untouched this long is a dead writer's, whoever wrote it (a chunk takes seconds).
STALE_TMP_SECONDS = 3600
_HOST = re.sub(r"[^A-Za-z0-9-]", "", socket.gethostname())[:40] or "host"


class CacheWarning(UserWarning):
    """A cached file could not be read; it is ignored and its content recomputed."""


def default_cache_dir() -> Path:
    """``$GAIA_CACHE_DIR``, else ``~/.cache/gaia/scores``."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "gaia" / "scores").expanduser()


def cache_key(parts: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of ``parts`` (sorted keys; non-JSON values by ``repr``)."""
    return hashlib.sha256(_canonical_json(parts).encode()).hexdigest()


def _canonical_json(parts: Mapping[str, Any]) -> str:
    return json.dumps(parts, sort_keys=True, default=repr, separators=(",", ":"))


@contextmanager
def _atomic_path(final: Path) -> Iterator[Path]:
    """A temporary path next to ``final``, moved onto it when the block ends without error."""
    final.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.{_HOST}.{os.getpid()}.", suffix=".tmp")
    os.close(handle)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, final)
    finally:
        tmp_path.unlink(missing_ok=True)


def remove_stale_tmp(folder: Path, max_age: float = STALE_TMP_SECONDS) -> list[Path]:
    """Delete the temporary files in ``folder`` left by writers that died: written on this host by a
    process that no longer runs, or untouched for ``max_age`` seconds. Returns the deleted paths."""
    removed = []
    try:
        candidates = list(folder.glob(".*.tmp"))
    except OSError:
        return removed
    now = time.time()
    for path in candidates:
        try:
            stale = now - path.stat().st_mtime > max_age or _writer_is_gone(path.name)
            if stale:
                path.unlink()
                removed.append(path)
        except OSError:  # gone already (its writer finished, or another run cleaned it)
            continue
    return removed


def _writer_is_gone(name: str) -> bool:
    match = re.search(r"\.([A-Za-z0-9-]+)\.(\d+)\.[^.]+\.tmp$", name)
    if match is None or match.group(1) != _HOST:
        return False
    pid = int(match.group(2))
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):  # alive under another user / not a pid
        return False
    return False


class CacheEntry:
    """One cached result: chunk files and JSON documents in one folder."""

    def __init__(self, folder: Path, parts: Mapping[str, Any]):
        self.folder = folder
        self.parts = dict(parts)

    def _ensure_manifest(self) -> None:
        manifest = self.folder / "key.json"
        if not manifest.exists():
            with _atomic_path(manifest) as tmp:
                tmp.write_text(json.dumps(self.parts, sort_keys=True, indent=1, default=repr))

    def add_labels(self, labels: Mapping[str, Any]) -> None:
        """Add human-readable fields (model, checkpoint, set names) to the manifest's "labels",
        outside the key: fields already there are kept, lists gain the items they lack."""
        document = self.load_json("key") or dict(self.parts)
        merged = dict(document.get("labels") or {})
        for name, value in labels.items():
            if name not in merged:
                merged[name] = value
            elif isinstance(merged[name], list) and isinstance(value, list):
                merged[name] = merged[name] + [v for v in value if v not in merged[name]]
        if merged != document.get("labels"):
            with _atomic_path(self.folder / "key.json") as tmp:
                tmp.write_text(json.dumps({**document, "labels": merged}, sort_keys=True, indent=1, default=repr))

    def save_chunk(self, name: str, arrays: Mapping[str, np.ndarray]) -> Path:
        """Store a chunk atomically (``chunk-<name>.npz``); arrays must not need pickling."""
        self._ensure_manifest()
        final = self.folder / f"chunk-{name}.npz"
        with _atomic_path(final) as tmp, tmp.open("wb") as f:
            np.savez(f, allow_pickle=False, **arrays)
        return final

    def load_chunks(self) -> list[dict[str, np.ndarray]]:
        """All complete chunks, in file-name order; unreadable ones are skipped with a `CacheWarning`."""
        chunks = []
        for path in sorted(self.folder.glob("chunk-*.npz")):
            try:
                with np.load(path, allow_pickle=False) as data:
                    chunks.append({k: data[k] for k in data.files})
            except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
                warnings.warn(
                    f"ignoring unreadable cache file {path} ({err}); its samples are scored again",
                    CacheWarning,
                    stacklevel=2,
                )
        return chunks

    def save_json(self, name: str, document: Any) -> None:
        self._ensure_manifest()
        with _atomic_path(self.folder / f"{name}.json") as tmp:
            tmp.write_text(json.dumps(document, sort_keys=True))

    def load_json(self, name: str) -> Any | None:
        path = self.folder / f"{name}.json"
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError) as err:
            warnings.warn(f"ignoring unreadable cache file {path} ({err})", CacheWarning, stacklevel=2)
            return None


class ScoreCache:
    """Cache entries under one root folder, grouped by kind ("scores", "fit", ...).

    Args:
        root: cache folder; default `default_cache_dir()`.
    """

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root).expanduser() if root is not None else default_cache_dir()

    def entry(self, kind: str, parts: Mapping[str, Any]) -> CacheEntry:
        """The entry for ``parts`` (a JSON-able mapping of everything the result depends on)."""
        key = cache_key({"kind": kind, **parts})
        folder = self.root / kind / key[:2] / key
        remove_stale_tmp(folder)
        return CacheEntry(folder, {"kind": kind, **parts})

    def clear(self) -> None:
        """Delete every cached result under the root."""
        if self.root.exists():
            shutil.rmtree(self.root)

    def __repr__(self) -> str:
        return f"ScoreCache({str(self.root)!r})"
