"""Paths typed into the app are accepted only inside configured allowed roots.

Setting: the environment variable ``GAIA_ALLOWED_ROOTS``, a list of folders separated by
``os.pathsep`` (":" on Linux). When it is unset the allowed roots are: ``data/`` in the
folder the app or the command was started in (the default data root), ``~/.cache/gaia``, and torch hub's folder (``$TORCH_HOME/hub``, where
pretrained weights are cached). A path is resolved first (``~``, ``..`` and symlinks), and
accepted only if the resolved path lies inside a resolved root: no ``..`` or symlink escape.

Any error the operating system raises on a path (a name too long, a symlink loop, no permission)
is a `PathNotAllowed` refusing that one path, with the path shown cut to a readable length.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Literal

import torch

from gaia_core.errors import GaiaError

ENV_VAR = "GAIA_ALLOWED_ROOTS"
# The default data root (the command line's --data-root, the app's Data root field), relative to
# the folder the server or the command was started in.
DEFAULT_DATA = Path("data")
# Messages show at most this many characters of a typed path.
SHOWN_CHARS = 120
# Errors that only mean "nothing is there".
_ABSENT = (errno.ENOENT, errno.ENOTDIR)


class PathNotAllowed(GaiaError, ValueError):
    """A typed path is empty, missing, of the wrong kind, or outside the allowed roots."""


def shown(path: str | Path) -> str:
    """A path for a message: quoted, and cut in the middle when it is longer than `SHOWN_CHARS`."""
    text = str(path)
    if len(text) > SHOWN_CHARS:
        text = f"{text[: SHOWN_CHARS // 2]}…{text[-SHOWN_CHARS // 3 :]} ({len(text)} characters)"
    return repr(text)


def path_kind(path: str | Path) -> Literal["file", "dir", "other"] | None:
    """What is at ``path`` (following links): "file", "dir", "other", or None when nothing is.

    Raises:
        PathNotAllowed: the system refuses the path itself (name too long, symlink loop, no permission).
    """
    try:
        mode = os.stat(path).st_mode
    except OSError as err:
        if err.errno in _ABSENT:
            return None
        raise PathNotAllowed(f"cannot use {shown(path)}: {err.strerror or err}") from None
    except ValueError as err:  # an embedded NUL
        raise PathNotAllowed(f"cannot use {shown(path)}: {err}") from None
    if stat.S_ISREG(mode):
        return "file"
    return "dir" if stat.S_ISDIR(mode) else "other"


def inside(resolved: Path, roots: tuple[Path, ...]) -> bool:
    """Whether a resolved path is one of the resolved ``roots`` or lies under one."""
    return any(resolved == root or resolved.is_relative_to(root) for root in roots)


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
        raise PathNotAllowed(f"cannot resolve {shown(text)}: {getattr(err, 'strerror', None) or err}") from None
    if not inside(resolved, roots):
        listed = ", ".join(str(r) for r in roots) or "(none configured)"
        raise PathNotAllowed(f"{shown(text)} is outside the allowed folders: {listed}. Set {ENV_VAR} to allow others.")
    found = path_kind(resolved)
    if must_exist and found is None:
        raise PathNotAllowed(f"{shown(text)} does not exist")
    if kind == "file" and found not in (None, "file"):
        raise PathNotAllowed(f"{shown(text)} is not a file")
    if kind == "dir" and found not in (None, "dir"):
        raise PathNotAllowed(f"{shown(text)} is not a folder")
    return resolved
