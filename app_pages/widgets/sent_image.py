"""An image of a scoring run sent to Inspect images or What if? (from Browse images or any image's
detail): the session remembers the run (its job's key), the set and the image's index in the scored
dataset, and the receiving page reads the image and its scores back from that run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st
import torch

from app_pages.shell import state
from app_pages.shell.error_frame import attempt
from app_pages.shell.job_progress import job_runner
from app_pages.shell.model_choice import LoadedModel
from app_pages.shell.scoring_jobs import Scored, ScoringRequest
from gaia_core.app_support import channel_values, tables
from gaia_core.data import images

# Receiving page -> (its script, the session key it reads, the button's label).
TARGETS = {
    "inspect": ("app_pages/inspect.py", "inspect_sent", "Open in Inspect images"),
    "what_if": ("app_pages/what_if.py", "whatif_sent", "Open in What if?"),
}
# What if?'s start-image choice for a sent image (its "Start from" radio).
WHAT_IF_SOURCE = "The image sent here"


@dataclass(frozen=True)
class SentImage:
    """One image of a scoring run, as another page receives it."""

    # The run: the key of its scoring job.
    scoring: ScoringRequest
    # The set's title (a key of `Scored.datasets`).
    set_title: str
    # Position of the image in the scored dataset (what ``ScoreDataset.__getitem__`` takes).
    index: int


@dataclass(frozen=True)
class ReceivedImage:
    """A sent image read back from its run."""

    scored: Scored
    # Its row of the run's `gaia_core.app_support.tables.combined_table`.
    row: pd.Series
    # (C, H, W) the model's input.
    x: torch.Tensor

    @property
    def channels(self) -> dict[str, dict[str, np.ndarray]]:
        """method -> layer -> (C_layer,) the image's per-channel GAIA values."""
        result = self.scored.result
        scores = result.id_scores if self.row[tables.IS_ID_COLUMN] else result.ood_scores[self.row[tables.SET_COLUMN]]
        position = int(self.row[tables.ROW_COLUMN])
        return {m: channel_values.row_channels(scores.channels[m], position) for m in scores.channels}


def sendable(row: Mapping, scored: Scored | None) -> bool:
    """Whether ``row`` is an image of ``scored``'s run (a set of it and an index into its dataset)."""
    return scored is not None and "index" in row and str(row.get(tables.SET_COLUMN)) in scored.datasets


def send_buttons(scored: Scored, row: Mapping, key: str, targets: Sequence[str] = tuple(TARGETS)) -> None:
    """A button per receiving page, one under the other (side by side their labels wrapped in a
    narrow column); a click puts the image in that page's session key and opens the page."""
    for target in targets:
        script, state_key, label = TARGETS[target]
        if st.button(label, key=f"{key}_send_{target}", icon=":material/open_in_new:"):
            st.session_state[state_key] = SentImage(scored.request, str(row[tables.SET_COLUMN]), int(row["index"]))
            if target == "what_if":
                st.session_state["whatif_source"] = WHAT_IF_SOURCE
            state.switch_page(script)  # the sidebar's settings kept


def received(target: str) -> SentImage | None:
    """The image sent to ``target`` ("inspect", "what_if") in this session, if any."""
    return st.session_state.get(TARGETS[target][1])


def forget(target: str) -> None:
    st.session_state.pop(TARGETS[target][1], None)


def read_back(loaded: LoadedModel, sent: SentImage) -> ReceivedImage | None:
    """The sent image, its row and its input, from its run; None after saying why it is gone."""
    if sent.scoring.model_key != loaded.key:
        st.info("The image sent here was scored with another model than the one in use.", icon=":material/info:")
        return None
    job = job_runner().get(sent.scoring)
    if job is None or not job.ok:
        st.warning(
            "The scoring run this image came from is no longer kept (the server restarted or forgot it): "
            "score the sets again on **ID vs OOD** and send the image again.",
            icon=":material/history:",
        )
        return None
    scored: Scored = job.result
    table = scored.table
    match = table[(table[tables.SET_COLUMN] == sent.set_title) & (table["index"] == sent.index)]
    if match.empty or sent.set_title not in scored.datasets:
        st.warning("The image sent here is not in its scoring run any more.", icon=":material/help:")
        return None
    x = attempt("Reading the image failed", images.dataset_inputs, scored.datasets[sent.set_title], [sent.index])
    if x is None:
        return None
    return ReceivedImage(scored, match.iloc[0], x[0][0])
