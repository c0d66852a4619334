"""The sidebar's method settings: ODIN's T and ε, Energy's T, ReAct's percentile, GAIA's layers
(a picker over the model's normalization layers, the paper's layers by default). The scoring
request reads them (`app_pages.shell.defaults.method_settings`), so they key the jobs and the cache."""

from __future__ import annotations

import streamlit as st

from app_pages.shell import defaults
from app_pages.shell.defaults import LAYER_KEYS, PAPER_LAYERS
from app_pages.shell.error_frame import attempt
from app_pages.shell.model_choice import current_model, layer_options, paper_layers
from app_pages.shell.state import choose, kept
from gaia_core.safety.markdown import escape_markdown
from gaia_core.scores import method_label


def method_settings_widgets() -> None:
    """ODIN's T and ε, Energy's T, ReAct's percentile, GAIA's layers (the paper's by default)."""
    left, right = st.columns(2)
    left.number_input("ODIN T", min_value=0.001, max_value=1e6, step=100.0, format="%g", key=kept("set_odin_t"))
    right.number_input(
        "ODIN ε",
        min_value=0.0,
        max_value=1.0,
        step=0.0002,
        format="%.4f",
        key=kept("set_odin_eps"),
        help="The input perturbation, in pixel units (divided by the model's std).",
    )
    left.number_input("Energy T", min_value=0.001, max_value=1e6, step=0.5, format="%g", key=kept("set_energy_t"))
    right.number_input(
        "ReAct percentile",
        min_value=1.0,
        max_value=100.0,
        step=5.0,
        format="%g",
        key=kept("set_react_p"),
        help="Features are clipped at this percentile of the ID set's.",
    )
    st.session_state.setdefault(PAPER_LAYERS, True)
    paper = st.toggle("GAIA's layers: the paper's", key=kept(PAPER_LAYERS))
    loaded = current_model()
    if not paper and loaded is not None:
        options = layer_options(loaded)
        for key, field in LAYER_KEYS.items():
            method = field.removesuffix("_layers")
            if not st.session_state.get(key):
                st.session_state[key] = paper_layers(loaded, method)
            choose(key, options, paper_layers(loaded, method))
            st.multiselect(f"{method_label(method)} layers", options, key=key, help="Default: the paper's layers.")
    settings = attempt(
        "Method settings refused", defaults.method_settings, lambda m: paper_layers(loaded, m) if loaded else []
    )
    if settings is not None:
        st.caption(escape_markdown(settings.describe()))
