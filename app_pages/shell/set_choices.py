"""The data sets a user can pick for the model in use, and the session's ID / OOD / method picks."""

from __future__ import annotations

import streamlit as st

from app_pages.shell.state import choose
from app_pages.shell.typed_paths import typed_folders
from gaia_core.app_support.sets import set_title
from gaia_core.data import PRESETS, SOURCES
from gaia_core.data.naming import DemoSample, demo_samples, with_label
from gaia_core.demo.data import DEMO_SETS
from gaia_core.models import ModelSpec
from gaia_core.scores import available

ALL_METHODS = tuple(available())
FAMILY_PRESET = {"demo": "demo", "cifar": "cifar10", "imagenet": "imagenet"}

__all__ = [
    "ALL_METHODS",
    "default_sets",
    "ensure_data_defaults",
    "extra_folders",
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


def extra_folders() -> tuple[list[str], list[str]]:
    """The sidebar's extra image folders: (accepted folders, one refusal message per refused
    line). A refused line is told beside the box (the sidebar) and left out of every page's sets."""
    return typed_folders(st.session_state.get("extra_folders", ""))


def set_options(spec: ModelSpec) -> list[str]:
    """Dataset names the user can pick for this model."""
    if spec.family == "demo":
        names = list(DEMO_SETS)
    else:
        names = [n for n in SOURCES if n != "places365" or spec.family == "cifar"]
        names += [n for n in DEMO_SETS if n not in SOURCES]
    return names + extra_folders()[0]


def default_sets(spec: ModelSpec) -> tuple[str, list[str]]:
    preset = PRESETS[FAMILY_PRESET[spec.family]]
    return preset.id_set, list(preset.ood_sets)


def ensure_data_defaults(spec: ModelSpec) -> None:
    """Start with the family's benchmark; reset the picks when the model family changes."""
    if st.session_state.get("data_family") != spec.family:
        id_set, ood_sets = default_sets(spec)
        st.session_state.update(data_family=spec.family, id_set=id_set, ood_sets=ood_sets)
    options = set_options(spec)
    id_default, ood_default = default_sets(spec)
    choose("id_set", options, id_default)
    choose("ood_sets", [o for o in options if o != st.session_state["id_set"]], ood_default)
    choose("methods", list(ALL_METHODS), list(ALL_METHODS))
