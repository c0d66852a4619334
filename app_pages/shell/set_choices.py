"""The data sets a user can pick for the model in use, and the session's ID / OOD / method picks.

The user's own folders are the folders picked from the list under the data root and those
typed into the sidebar; each is titled by its path under the allowed folder holding it ("a/test",
"b/test": two that end in the same name read apart). The ID sets offered are those whose labels
fit the model's classes.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app_pages.shell import defaults
from app_pages.shell.state import choose
from app_pages.shell.typed_paths import typed_folders
from gaia_core.app_support import sets
from gaia_core.app_support.folders import FolderListing, image_folders
from gaia_core.app_support.sets import set_title
from gaia_core.data import PRESETS, SOURCES
from gaia_core.data.class_names import sets_that_fit
from gaia_core.data.naming import DemoSample, demo_samples, with_label
from gaia_core.demo.data import DEMO_SETS
from gaia_core.models import ModelSpec
from gaia_core.safety.paths import allowed_roots
from gaia_core.scores import available

ALL_METHODS = tuple(available())
FAMILY_PRESET = {"demo": "demo", "cifar": "cifar10", "imagenet": "imagenet"}
# The folders picked from the list under the data root (resolved paths).
PICKED = "picked_folders"
# How long a listing of the folders under a data root is reused, in seconds.
LISTING_TTL_S = 30

__all__ = [
    "ALL_METHODS",
    "default_sets",
    "ensure_data_defaults",
    "extra_folders",
    "folder_listing",
    "id_options",
    "sample_catalog",
    "sample_title",
    "set_options",
    "set_title",
]


@st.cache_resource(show_spinner=False)
def sample_catalog() -> dict[str, DemoSample]:
    """The demo's sample PNGs by path, with their names and true labels (read once per server)."""
    return {sample.path: sample for sample in demo_samples()}


def sample_title(path: str) -> str:
    """What a sample's picker shows: "digits #0 · true label 1" (its file name is not its label)."""
    sample = sample_catalog()[path]
    return with_label(sample.name, sample.label)


@st.cache_data(ttl=LISTING_TTL_S, max_entries=16, show_spinner="Looking for folders of images…")
def _listing(root: str, roots: tuple[str, ...]) -> FolderListing:
    return image_folders(root, tuple(Path(r) for r in roots))


def folder_listing(data_root: str) -> FolderListing | None:
    """The folders of images under the data root (`gaia_core.app_support.folders.image_folders`,
    bounded; reused for `LISTING_TTL_S`); None when the data root is refused or missing."""
    try:
        root = sets.visitor_path(data_root, "dir")
    except sets.PathNotAllowed:
        return None
    return _listing(str(root), tuple(str(r) for r in allowed_roots()))


@st.cache_data(ttl=10, max_entries=64, show_spinner=False)
def _own_folders(text: str, picked: tuple[str, ...], data_root: str, roots: tuple[str, ...]):
    typed, refusals = typed_folders(text, base=data_root)
    kept, gone = [], []
    for path in picked:
        try:
            kept.append(str(sets.visitor_path(path, "dir")))
        except sets.PathNotAllowed as err:
            gone.append(f"Folder {path!r} is no longer available: {err}")
    return list(dict.fromkeys([*kept, *typed])), [*gone, *refusals]


def extra_folders() -> tuple[list[str], list[str]]:
    """The user's own folders: (accepted folders, resolved; one refusal message per refused
    line). A refused line is told beside the box (the sidebar) and left out of every page's sets."""
    text, picked = st.session_state.get("extra_folders", ""), tuple(st.session_state.get(PICKED) or ())
    if not text.strip() and not picked:
        return [], []
    folders, refusals = _own_folders(text, picked, defaults.data_root(), tuple(str(r) for r in allowed_roots()))
    return list(folders), list(refusals)


def set_options(spec: ModelSpec) -> list[str]:
    """Dataset names the user can pick for this model."""
    if spec.family == "demo":
        names = list(DEMO_SETS)
    else:
        names = [n for n in SOURCES if n != "places365" or spec.family == "cifar"]
        names += [n for n in DEMO_SETS if n not in SOURCES]
    return names + extra_folders()[0]


def _fitting_presets(spec: ModelSpec, num_classes: int) -> list[str]:
    """Presets whose ID labels are the model's classes: the model family's first, the demo's last."""
    fitting = sets_that_fit(num_classes)
    return sorted(fitting, key=lambda p: (PRESETS[p].family != spec.family, PRESETS[p].family == "demo"))


def id_options(spec: ModelSpec, num_classes: int | None = None) -> list[str]:
    """ID sets to pick for this model: the ID sets of the benchmarks whose classes are the model's
    (`sets_that_fit`), then the user's own folders; every set when none of these is there. The
    demo model is offered every set, as before."""
    options = set_options(spec)
    if spec.family == "demo" or num_classes is None:
        return options
    fitting = [PRESETS[p].id_set for p in _fitting_presets(spec, num_classes)]
    named = [n for n in dict.fromkeys(fitting) if n in options]
    chosen = named + extra_folders()[0]
    return chosen or options


def default_sets(spec: ModelSpec, num_classes: int | None = None) -> tuple[str, list[str]]:
    """The ID set and OOD sets a model starts with: the benchmark of its family when its classes
    fit, else the first benchmark that fits (the user's first folder before another family's),
    else the first set offered."""
    if num_classes is None or spec.family == "demo":
        preset = PRESETS[FAMILY_PRESET[spec.family]]
        return preset.id_set, list(preset.ood_sets)
    fitting = _fitting_presets(spec, num_classes)
    own = extra_folders()[0]
    if fitting and PRESETS[fitting[0]].family == spec.family:
        preset = PRESETS[fitting[0]]
        return preset.id_set, list(preset.ood_sets)
    if own:
        return own[0], own[1:]
    if fitting:
        preset = PRESETS[fitting[0]]
        return preset.id_set, list(preset.ood_sets)
    return id_options(spec, num_classes)[0], []


def ensure_data_defaults(spec: ModelSpec, num_classes: int | None = None) -> None:
    """Start with the sets that fit the model; reset the picks when the model family or its
    number of classes changes."""
    fit = (spec.family, num_classes)
    if st.session_state.get("data_family") != fit:
        id_set, ood_sets = default_sets(spec, num_classes)
        st.session_state.update(data_family=fit, id_set=id_set, ood_sets=ood_sets)
    options = set_options(spec)
    id_default, ood_default = default_sets(spec, num_classes)
    choose("id_set", id_options(spec, num_classes), id_default)
    choose("ood_sets", [o for o in options if o != st.session_state["id_set"]], ood_default)
    choose("methods", list(ALL_METHODS), list(ALL_METHODS))
