"""The sidebar's scoring settings: what they start at, and the session's current values."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import streamlit as st

from gaia_core.app_support.sets import default_data_root
from gaia_core.scores.settings import MethodSettings

# Session keys of the method settings' number inputs -> the `MethodSettings` field each sets.
SETTING_KEYS = {
    "set_odin_t": "odin_temperature",
    "set_odin_eps": "odin_epsilon",
    "set_energy_t": "energy_temperature",
    "set_react_p": "react_percentile",
}
# Session keys of the GAIA layer pickers -> the field each sets; read only while the toggle
# `PAPER_LAYERS` ("the paper's layers") is off.
LAYER_KEYS = {"set_gaia_z_layers": "gaia_z_layers", "set_gaia_a_layers": "gaia_a_layers"}
PAPER_LAYERS = "set_paper_layers"


@dataclass(frozen=True)
class SidebarDefaults:
    """What the sidebar's scoring settings start at in a new session."""

    # Images per forward and backward pass.
    batch_size: int = 64
    # Images per set at most; larger sets are sampled evenly down to this many.
    max_per_set: int = 1000
    # ODIN's, Energy's, ReAct's and GAIA's settings: the methods' own (the papers').
    methods: MethodSettings = field(default_factory=MethodSettings)

    @property
    def data_root(self) -> str:
        """Folder holding the named datasets: ``data`` (the command line's --data-root default)
        where the allowed folders include it, else the first allowed folder (read when asked:
        it follows ``GAIA_ALLOWED_ROOTS``)."""
        return default_data_root()


DEFAULTS = SidebarDefaults()


def start_settings() -> None:
    """Give a new session the default settings (before the sidebar draws their widgets)."""
    for key in ("batch_size", "max_per_set", "data_root"):
        if key not in st.session_state:
            st.session_state[key] = getattr(DEFAULTS, key)
    for key, name in SETTING_KEYS.items():
        st.session_state.setdefault(key, getattr(DEFAULTS.methods, name))


def batch_size() -> int:
    return int(st.session_state.get("batch_size", DEFAULTS.batch_size))


def max_per_set() -> int:
    return int(st.session_state.get("max_per_set", DEFAULTS.max_per_set))


def data_root() -> str:
    return str(st.session_state.get("data_root") or DEFAULTS.data_root)


def method_settings(paper_layers: Callable[[str], Sequence[str]]) -> MethodSettings:
    """The methods' settings the sidebar holds (the defaults where it holds none).

    Args:
        paper_layers: method name ("gaia_z", "gaia_a") -> the paper's layers on the model in
            use; picked layers equal to them are the default (None), so both share cached scores.

    Raises:
        ConfigError: a value out of range (the widgets' bounds keep them in range).
    """
    defaults = DEFAULTS.methods
    values: dict = {
        name: float(st.session_state.get(key, getattr(defaults, name))) for key, name in SETTING_KEYS.items()
    }
    if not st.session_state.get(PAPER_LAYERS, True):
        for key, name in LAYER_KEYS.items():
            layers = tuple(st.session_state.get(key) or ())
            method = name.removesuffix("_layers")
            values[name] = layers if layers and list(layers) != list(paper_layers(method)) else None
    return MethodSettings(**values)
