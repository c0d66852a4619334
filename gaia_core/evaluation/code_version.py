"""The version of the code that produces cached numbers: a hash of its sources.

Cached scores are keyed by it, so a change to a formula, a model definition or a data transform
makes every affected cache entry miss instead of silently serving stale numbers. It hashes the
sources themselves rather than a version string someone must remember to bump.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

# The parts of gaia_core whose code decides the numbers: score methods and their probe, model
# definitions and loaders, data sets and transforms, and how a data set is scored and fitted.
NUMERIC_SOURCES = (
    "scores",
    "models",
    "data",
    "demo/model.py",
    "demo/data.py",
    "evaluation/scoring.py",
    "evaluation/loading.py",
    "evaluation/chunks.py",
    "evaluation/results.py",
    "evaluation/fitting.py",
    "evaluation/benchmark.py",
)
PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def sources_digest(root: Path, parts: tuple[str, ...] = NUMERIC_SOURCES) -> str:
    """sha256 over the relative paths and bytes of the ``.py`` files under ``parts`` of ``root``."""
    digest = hashlib.sha256()
    for part in parts:
        path = root / part
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            digest.update(file.relative_to(root).as_posix().encode() + b"\0")
            digest.update(file.read_bytes() + b"\0")
    return digest.hexdigest()


@lru_cache(maxsize=1)
def code_version() -> str:
    """The digest of this installation's numeric sources (computed once per process)."""
    return sources_digest(PACKAGE_ROOT)
