"""Paths typed into the app are accepted only inside configured allowed roots.

Setting: the environment variable ``GAIA_ALLOWED_ROOTS``, a list of folders separated by
``os.pathsep`` (":" on Linux). When it is unset the allowed roots are: ``data/`` in the
folder the app or the command was started in (the default data root), ``~/.cache/gaia``, and torch hub's folder (``$TORCH_HOME/hub``, where
pretrained weights are cached). A path is resolved first (``~``, ``..`` and symlinks), and
accepted only if the resolved path lies inside a resolved root: no ``..`` or symlink escape.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from gaia_core.errors import GaiaError

ENV_VAR = "GAIA_ALLOWED_ROOTS"
# The default data root (the command line's --data-root, the app's Data root field), relative to
# the folder the server or the command was started in.
DEFAULT_DATA = Path("data")


class PathNotAllowed(GaiaError, ValueError):
    """A typed path is empty, missing, of the wrong kind, or outside the allowed roots."""


def allowed_roots() -> tuple[Path, ...]:
    """The allowed roots, resolved (from ``GAIA_ALLOWED_ROOTS`` or the defaults)."""
    configured = os.environ.get(ENV_VAR)
    if configured is not None:
        folders = [Path(p).expanduser() for p in configured.split(os.pathsep) if p.strip()]
    else:
        folders = [DEFAULT_DATA, Path("~/.cache/gaia").expanduser(), Path(torch.hub.get_dir())]
    return tuple(dict.fromkeys(p.resolve(strict=False) for p in folders))


def resolve_allowed(
    user_path: str, roots: tuple[Path, ...] | None = None, must_exist: bool = True, kind: str = "any"
) -> Path:
    """The resolved path, if it lies inside an allowed root.

    Args:
        user_path: the text the user typed.
        roots: allowed roots; default ``allowed_roots()``.
        must_exist: refuse paths that do not exist.
        kind: "file", "dir" or "any".

    Raises:
        PathNotAllowed: with a message saying why and which folders are allowed.
    """
    if kind not in ("file", "dir", "any"):
        raise ValueError("kind must be 'file', 'dir' or 'any'")
    roots = allowed_roots() if roots is None else tuple(Path(r).resolve(strict=False) for r in roots)
    text = (user_path or "").strip()
    if not text:
        raise PathNotAllowed("no path given")
    if "\x00" in text:
        raise PathNotAllowed("the path contains a NUL character")
    try:
        resolved = Path(text).expanduser().resolve(strict=False)
    except (OSError, RuntimeError) as err:  # RuntimeError: a symlink loop
        raise PathNotAllowed(f"cannot resolve {text!r}: {err}") from None
    if not any(resolved == root or resolved.is_relative_to(root) for root in roots):
        listed = ", ".join(str(r) for r in roots) or "(none configured)"
        raise PathNotAllowed(f"{text!r} is outside the allowed folders: {listed}. Set {ENV_VAR} to allow others.")
    if must_exist and not resolved.exists():
        raise PathNotAllowed(f"{text!r} does not exist")
    if kind == "file" and resolved.exists() and not resolved.is_file():
        raise PathNotAllowed(f"{text!r} is not a file")
    if kind == "dir" and resolved.exists() and not resolved.is_dir():
        raise PathNotAllowed(f"{text!r} is not a folder")
    return resolved
