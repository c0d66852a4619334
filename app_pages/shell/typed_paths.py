"""Paths typed into the sidebar, each accepted or refused on its own: one bad path (outside the
allowed folders, 5,000 characters long, unreadable) is a message about that path, never an
error that stops the page or the other paths. A relative path starts at the data root (a
visitor does not know the server's working folder); a refusal lists the folders they may use."""

from __future__ import annotations

import hashlib
from pathlib import Path

from gaia_core.app_support.sets import visitor_path
from gaia_core.errors import GaiaError, one_line
from gaia_core.safety import PathNotAllowed

SHOWN_CHARACTERS = 80  # of a refused path, in its message
MESSAGE_CHARACTERS = 400  # of a refusal (the library's message quotes the whole path)


def shown_path(typed: str) -> str:
    """A typed path as a message names it: quoted, cut to `SHOWN_CHARACTERS`."""
    text = typed.strip()
    return repr(text if len(text) <= SHOWN_CHARACTERS else text[: SHOWN_CHARACTERS - 1] + "…")


def _refusal(message: str) -> PathNotAllowed:
    if len(message) > MESSAGE_CHARACTERS:
        message = message[: MESSAGE_CHARACTERS - 1] + "…"
    return PathNotAllowed(message)


def allowed_path(typed: str, kind: str, base: str | None = None, must_exist: bool = True) -> Path:
    """`gaia_core.app_support.sets.visitor_path` (relative paths under ``base``, the data root),
    with what the operating system refuses about the path (a name too long, no permission) a
    refusal too, and a refusal's message kept short.

    Raises:
        PathNotAllowed: the path is refused; the message says why.
    """
    try:
        return visitor_path(typed, kind, base=base, must_exist=must_exist)
    except GaiaError as err:
        raise _refusal(one_line(err)) from None
    except OSError as err:
        raise _refusal(f"{shown_path(typed)} cannot be used: {err.strerror or err}") from None


def checkpoint_file(typed: str, base: str | None = None) -> tuple[Path, str]:
    """A typed checkpoint path inside the allowed folders (relative: under ``base``) and its content's sha256.

    Raises:
        PathNotAllowed: the path is refused or the file cannot be read.
    """
    path = allowed_path(typed, kind="file", base=base)
    digest = hashlib.sha256()
    try:
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except OSError as err:
        raise _refusal(f"{shown_path(typed)} cannot be read: {err.strerror or err}") from None
    return path, digest.hexdigest()


def data_root_refusal(typed: str) -> str | None:
    """Why the typed data root cannot be used (outside the allowed folders: which ones may); None
    when it can (it need not exist yet: only the sets read under it need to)."""
    try:
        allowed_path(typed, kind="dir", must_exist=False)
    except PathNotAllowed as err:
        return f"Data root refused: {err}"
    return None


def typed_folders(text: str, base: str | None = None) -> tuple[list[str], list[str]]:
    """The folders typed one per line (relative ones under ``base``, the data root): (the
    accepted ones, resolved; one refusal message per refused line). Blank lines are skipped."""
    accepted, refusals = [], []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            accepted.append(str(allowed_path(line, kind="dir", base=base)))
        except PathNotAllowed as err:
            refusals.append(f"Folder {shown_path(line)} refused: {err}")
    return accepted, refusals
