"""The warning beside GAIA's numbers when GAIA cannot separate anything on the model in use."""

from __future__ import annotations

import streamlit as st

from app_pages.shell.error_frame import attempt
from app_pages.shell.model_choice import LoadedModel
from app_pages.shell.scoring_jobs import get_dataset
from gaia_core.evaluation.benchmark import id_set_applicability
from gaia_core.evaluation.cache import ScoreCache
from gaia_core.scores.applicability import ApplicabilityReport


@st.cache_resource(max_entries=8, show_spinner="Checking whether GAIA can work on this model…")
def _applicability(_loaded: LoadedModel, model_key: tuple, id_set: str) -> ApplicabilityReport | None:
    # The first readable ID images, as the command line checks them; remembered in the score cache.
    data = get_dataset(_loaded, id_set)
    return id_set_applicability(_loaded.model, data, cache=ScoreCache(), weights_id=_loaded.fingerprint)


def gaia_applicability_note(loaded: LoadedModel, id_set: str | None = None) -> None:
    """A warning beside GAIA's numbers when GAIA-Z (or GAIA-A) cannot separate anything on this model,
    checked on a few images of ``id_set`` (default: the session's ID set; `gaia_core.scores.applicability`)."""
    id_set = id_set or st.session_state.get("id_set")
    if not id_set:
        return
    report = attempt("Could not check whether GAIA applies to this model", _applicability, loaded, loaded.key, id_set)
    if report is not None and report.note:
        st.warning(report.note, icon=":material/warning:")
