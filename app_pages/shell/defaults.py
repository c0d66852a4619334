"""The sidebar's scoring settings: what they start at, and the session's current values."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from gaia_core.safety.paths import DEFAULT_DATA


@dataclass(frozen=True)
class SidebarDefaults:
    """What the sidebar's scoring settings start at in a new session."""

    # Images per forward and backward pass.
    batch_size: int = 64
    # Images per set at most; larger sets are sampled evenly down to this many.
    max_per_set: int = 1000
    # Folder holding the named datasets (the command line's --data-root default too).
    data_root: str = str(DEFAULT_DATA)


DEFAULTS = SidebarDefaults()


def start_settings() -> None:
    """Give a new session the default settings (before the sidebar draws their widgets)."""
    for key in ("batch_size", "max_per_set", "data_root"):
        st.session_state.setdefault(key, getattr(DEFAULTS, key))


def batch_size() -> int:
    return int(st.session_state.get("batch_size", DEFAULTS.batch_size))


def max_per_set() -> int:
    return int(st.session_state.get("max_per_set", DEFAULTS.max_per_set))


def data_root() -> str:
    return str(st.session_state.get("data_root", DEFAULTS.data_root))
