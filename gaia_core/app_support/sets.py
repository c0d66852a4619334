"""Which data root a data set is read from: the security rule behind the app's typed paths.

The demo's sets ship inside the package and are always read; any other set is read under the
data root the user typed, which must lie inside the allowed roots (`gaia_core.safety.paths`).
"""

from __future__ import annotations

from pathlib import Path

from gaia_core.data import SOURCES
from gaia_core.demo.data import DEMO_SETS
from gaia_core.safety import resolve_allowed


def ships_with_package(set_name: str) -> bool:
    """True for the demo's generated sets and their splits ("digits", "digits-train", ...)."""
    name, _, split = set_name.partition("-")
    return name in DEMO_SETS and set_name not in SOURCES and split in ("", "train", "test")


def data_root_for(set_name: str, typed_root: str) -> str:
    """The data root to read ``set_name`` under: ``typed_root`` as given for a set that ships with
    the package (it is not read), else ``typed_root`` resolved inside the allowed roots.

    Raises:
        PathNotAllowed: the typed root lies outside the allowed roots.
    """
    if ships_with_package(set_name):
        return typed_root
    return str(resolve_allowed(typed_root, kind="dir", must_exist=False))


def set_title(set_name: str) -> str:
    """A set's title as a person reads it ("Digits (ID)", "CIFAR-10", or a folder's name)."""
    if set_name in DEMO_SETS:
        return DEMO_SETS[set_name].title
    if set_name in SOURCES:
        return SOURCES[set_name].title
    return Path(set_name).name or set_name
