"""How the app opens a data set: under which data root, with which preprocessing, under which title.

The demo's sets ship inside the package and are always read; any other set is read under the
data root the user typed, which must lie inside the allowed roots (`gaia_core.safety.paths`).
A refusal tells the visitor which folders they may use (the allowed roots), not how an operator
would allow others. Paths typed relative are read under the data root, not the server's folder.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from gaia_core.data import PRESETS, SOURCES
from gaia_core.demo.data import DEMO_SETS
from gaia_core.safety import PathNotAllowed, resolve_allowed
from gaia_core.safety.paths import DEFAULT_DATA, allowed_roots, inside, shown


def ships_with_package(set_name: str) -> bool:
    """True for the demo's generated sets and their splits ("digits", "digits-train", ...)."""
    name, _, split = set_name.partition("-")
    return name in DEMO_SETS and set_name not in SOURCES and split in ("", "train", "test")


def default_data_root(roots: Sequence[Path] | None = None) -> str:
    """The data root a new session starts at: ``data`` (the command line's default) where it is
    allowed, else the first allowed root."""
    roots = allowed_roots() if roots is None else tuple(roots)
    if not roots or inside(DEFAULT_DATA.resolve(), roots):
        return str(DEFAULT_DATA)
    return str(roots[0])


def visitor_path(
    typed: str,
    kind: str = "dir",
    *,
    base: str | Path | None = None,
    must_exist: bool = True,
    roots: Sequence[Path] | None = None,
) -> Path:
    """A typed path, resolved inside the allowed roots (`resolve_allowed`); a relative path is
    read under ``base`` (the data root).

    Raises:
        PathNotAllowed: the path is refused; outside the allowed roots, the message lists the
            folders the visitor may use.
    """
    roots = allowed_roots() if roots is None else tuple(Path(r).resolve() for r in roots)
    text = (typed or "").strip()
    path = Path(text).expanduser()
    if text and base is not None and not path.is_absolute():
        path = Path(base).expanduser() / path
    try:
        resolved = path.resolve(strict=False)
    except (OSError, RuntimeError):
        resolved = None  # resolve_allowed says why
    if text and "\x00" not in text and resolved is not None and not inside(resolved, roots):
        listed = ", ".join(str(r) for r in roots) or "(none)"
        raise PathNotAllowed(
            f"{shown(text)} is outside the folders this server lets you use. Use a folder inside one of: {listed}."
        )
    return resolve_allowed(str(path) if text else text, roots=roots, must_exist=must_exist, kind=kind)


def data_root_for(set_name: str, typed_root: str) -> str:
    """The data root to read ``set_name`` under: ``typed_root`` as given for a set that ships with
    the package (it is not read), else ``typed_root`` resolved inside the allowed roots.

    Raises:
        PathNotAllowed: the typed root lies outside the allowed roots (the message lists them).
    """
    if ships_with_package(set_name):
        return typed_root
    return str(visitor_path(typed_root, "dir", must_exist=False))


def set_title(set_name: str, roots: Sequence[Path] | None = None) -> str:
    """A set's title as a person reads it ("Digits (ID)", "CIFAR-10"; a folder by its path under
    the allowed folder holding it, "a/test", so two folders that end in the same name read apart)."""
    if set_name in DEMO_SETS:
        return DEMO_SETS[set_name].title
    if set_name in SOURCES:
        return SOURCES[set_name].title
    path = Path(set_name)
    if path.is_absolute():
        return folder_title(path, allowed_roots() if roots is None else tuple(roots))
    return path.name or set_name


def folder_title(path: Path, roots: Sequence[Path]) -> str:
    """A resolved folder's path under the deepest allowed root holding it (the root's own name for
    the root itself); its last part when no root holds it."""
    holding = [Path(r) for r in roots if inside(path, (Path(r),))]
    if not holding:
        return path.name or str(path)
    root = max(holding, key=lambda r: len(r.parts))
    return path.relative_to(root).as_posix() if path != root else (root.name or str(root))


def preset_groups(id_set: str, ood_sets: Sequence[str], presets: Mapping = PRESETS) -> dict[str, list[str]]:
    """The near-/far-OOD groups of the benchmark whose ID set is ``id_set``, cut to ``ood_sets``
    ({} when no benchmark with groups has that ID set)."""
    for preset in presets.values():
        if preset.id_set == id_set and preset.groups:
            groups = {g: [n for n in names if n in ood_sets] for g, names in preset.groups.items()}
            return {g: names for g, names in groups.items() if names}
    return {}
