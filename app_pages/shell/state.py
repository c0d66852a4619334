"""Session state the pages share: choices that survive page switches, valid widget values,
uploads kept across pages.

Streamlit forgets a widget's value when a run does not draw the widget (another page is
shown). A page that wants a choice to survive names its widget's key with `kept`; every run
re-assigns the kept keys first (`keep_choices`), which turns them into plain session values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

_KEPT: set[str] = set()  # keys are fixed strings in the pages' code, so one set serves every session
# Kept choices carried over a `switch_page` (a plain session value: Streamlit resets every widget's state
# when a run is cut short by a page switch, streamlit#8425, which would lose the sidebar's settings).
_CARRIED = "_kept_over_switch"


def kept(key: str) -> str:
    """``key``, registered to survive page switches (use as a widget's ``key=``)."""
    _KEPT.add(key)
    return key


def keep_choices() -> None:
    """Re-assign every kept choice so it survives runs in which its widget is not drawn (and
    restore those a `switch_page` carried over)."""
    for key, value in st.session_state.pop(_CARRIED, {}).items():
        st.session_state[key] = value
    for key in _KEPT:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def switch_page(script: str) -> None:
    """`st.switch_page` to ``script``, keeping every kept choice (the sidebar's settings among them)."""
    st.session_state[_CARRIED] = {key: st.session_state[key] for key in _KEPT if key in st.session_state}
    st.switch_page(script)


def choose(key: str, options: Sequence, default: Any, keep: bool = True) -> str:
    """Make ``st.session_state[key]`` a valid value for a widget over ``options`` (before drawing
    it), and (with ``keep``) keep it across pages. Returns ``key``."""
    value = st.session_state.get(key)
    if isinstance(default, list):
        if not isinstance(value, list):
            st.session_state[key] = [v for v in default if v in options]
        elif not all(v in options for v in value):
            st.session_state[key] = [v for v in value if v in options]
    elif value not in options:
        st.session_state[key] = default if default in options else (options[0] if options else None)
    return kept(key) if keep else key


def remember_uploads(uploader_key: str, store_key: str) -> None:
    """Keep an uploader's files in the session (on_change), so they survive page switches."""
    files = st.session_state.get(uploader_key) or []
    st.session_state[store_key] = [(f.name, f.getvalue()) for f in files]
