"""The class names of the model in use and of a scoring run (`gaia_core.app_support.samples.RunClassNames`):
read once per model (a checkpoint's sidecar or metadata may list them), never on every rerun."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from app_pages.shell.error_frame import attempt
from app_pages.shell.model_choice import LoadedModel, ModelChoice
from app_pages.shell.scoring_jobs import Scored
from gaia_core.app_support.samples import RunClassNames, run_class_names
from gaia_core.data.class_names import class_names_for, label_text
from gaia_core.models import get_spec


@st.cache_resource(max_entries=8, show_spinner=False)
def _model_names(choice: ModelChoice, classes: int) -> tuple[str, ...] | None:
    names = class_names_for(spec=get_spec(choice.name), num_classes=classes, checkpoint_path=choice.checkpoint or None)
    return tuple(names) if names is not None else None


def model_class_names(loaded: LoadedModel) -> tuple[str, ...] | None:
    """The model's own class list (the checkpoint's, or ImageNet's / CIFAR-10's built in); None
    when it has none. A list that does not fit the model is told and left out."""
    return attempt("The checkpoint's class names", _model_names, loaded.choice, loaded.model_classes)


def run_names(loaded: LoadedModel, scored: Scored | None) -> RunClassNames:
    """Class names of a scoring run: each set's sub-folders, the model's own list for its predictions
    (without one, the ID set's sub-folders); only the model's without a run."""
    model = model_class_names(loaded)
    if scored is None:
        return RunClassNames(model, {})
    return run_class_names(scored.datasets, scored.result.id_scores.title, model)


def class_text(loaded: LoadedModel, scored: Scored | None, index: int) -> str:
    """A predicted class as the tables show it ("3", "7 · horse", "2 · cat" from a folder's names)."""
    return label_text(index, run_names(loaded, scored).model)


def set_class_namer(loaded: LoadedModel, dataset) -> Callable[[int], str]:
    """Index -> the class as a true label reads ("0 · cat"): the set's own sub-folder names where it
    has them, else the model's own list."""
    names = class_names_for(dataset=dataset) or model_class_names(loaded)
    return lambda index: label_text(index, names)
