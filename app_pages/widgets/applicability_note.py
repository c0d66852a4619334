"""The warning beside GAIA's numbers when GAIA cannot separate anything on the model in use."""

from __future__ import annotations

import streamlit as st
import torch

from app_pages.shell.error_frame import attempt
from app_pages.shell.model_choice import LoadedModel
from app_pages.shell.runs import get_dataset
from gaia_core.device import model_device
from gaia_core.scores.applicability import ApplicabilityReport, check_applicability

CHECKED_IMAGES = 4  # ID images the check looks at


@st.cache_resource(max_entries=8, show_spinner="Checking whether GAIA can work on this model…")
def _applicability(_loaded: LoadedModel, model_key: tuple, id_set: str) -> ApplicabilityReport:
    data = get_dataset(_loaded, id_set)
    x = torch.stack([data[i].image for i in range(min(CHECKED_IMAGES, len(data)))])
    return check_applicability(_loaded.model, x.to(model_device(_loaded.model)))


def gaia_applicability_note(loaded: LoadedModel, id_set: str | None = None) -> None:
    """A warning beside GAIA's numbers when GAIA-Z (or GAIA-A) cannot separate anything on this model,
    checked on a few images of ``id_set`` (default: the session's ID set; `gaia_core.scores.applicability`)."""
    id_set = id_set or st.session_state.get("id_set")
    if not id_set:
        return
    report = attempt("Could not check whether GAIA applies to this model", _applicability, loaded, loaded.key, id_set)
    if report is not None and report.note:
        st.warning(report.note, icon=":material/warning:")
