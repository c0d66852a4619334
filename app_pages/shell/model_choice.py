"""The model in use: which model a session chose, loaded once per server and shared by every session."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st
import torch
from torch import nn

from app_pages.shell.error_frame import attempt
from app_pages.shell.set_choices import ensure_data_defaults
from gaia_core.device import best_device
from gaia_core.models import (
    ModelSpec,
    class_label,
    get_spec,
    load_model,
    output_classes,
    weights_fingerprint,
)


@dataclass(frozen=True)
class ModelChoice:
    """Which model to load; plain values, so it keys caches."""

    # Registry name (`gaia_core.models.available_models`).
    name: str = "demo"
    # Weights file on this machine ("" = none: the demo's own, or pretrained).
    checkpoint: str = ""
    # sha256 of the weights file (changes when the file does).
    checkpoint_sha256: str = ""
    # Classes of the checkpoint (0 = read from the checkpoint, else the architecture's default).
    num_classes: int = 0
    # torchvision's pretrained ImageNet weights from torch hub's cache.
    pretrained: bool = False
    # Where the model runs: "cpu", "cuda:0", ...
    device: str = "cpu"


@dataclass(frozen=True)
class LoadedModel:
    """A loaded model shared by every session (only used through gaia_core's thread-safe calls)."""

    choice: ModelChoice
    model: nn.Module
    spec: ModelSpec
    fingerprint: str

    @property
    def key(self) -> tuple:
        return (self.choice.name, self.fingerprint, self.choice.device)

    @property
    def model_classes(self) -> int:
        """Classes the loaded model outputs."""
        return output_classes(self.model) or self.choice.num_classes or self.spec.num_classes

    @property
    def title(self) -> str:
        """What the model is, as plain text (it names the weights file: escape it for Markdown)."""
        if self.choice.checkpoint:
            weights = Path(self.choice.checkpoint).name
        else:
            weights = "pretrained" if self.choice.pretrained else "shipped weights"
        return f"{self.choice.name} ({weights}) on {self.choice.device}"


@st.cache_resource(max_entries=3, show_spinner="Loading the model…")
def _load(name: str, checkpoint: str, checkpoint_sha256: str, num_classes: int, pretrained: bool, device: str):
    model = load_model(name, checkpoint or None, num_classes=num_classes or None, pretrained=pretrained, device=device)
    choice = ModelChoice(name, checkpoint, checkpoint_sha256, num_classes, pretrained, device)
    return LoadedModel(choice, model, get_spec(name), weights_fingerprint(model))


def load(choice: ModelChoice) -> LoadedModel:
    return _load(
        choice.name, choice.checkpoint, choice.checkpoint_sha256, choice.num_classes, choice.pretrained, choice.device
    )


def device_options() -> list[str]:
    return ["cpu", *(f"cuda:{i}" for i in range(torch.cuda.device_count()))]


def default_choice() -> ModelChoice:
    return ModelChoice(device="cuda:0" if best_device().type == "cuda" else "cpu")


def chosen() -> ModelChoice:
    """The choice in use in this session (the demo until another one loads successfully)."""
    return st.session_state.setdefault("model_choice", default_choice())


def switch_to(choice: ModelChoice) -> None:
    """Load ``choice`` and use it from now on; on any error the previous model stays in use."""
    load(choice)
    st.session_state["model_choice"] = choice


def current_model() -> LoadedModel | None:
    """The model in use in this session."""
    return attempt("Loading the model failed", load, chosen())


def page_model() -> LoadedModel:
    """The model in use, or stop the page with a message saying what to do."""
    loaded = current_model()
    if loaded is None:
        st.info("No model is loaded. Pick one in the sidebar and press **Load model**.", icon=":material/info:")
        st.stop()
    ensure_data_defaults(loaded.spec)
    return loaded


def class_name(loaded: LoadedModel, index: int) -> str:
    """A predicted class as a person reads it ("3", "7 · horse", "207 · golden retriever")."""
    return class_label(loaded.spec, loaded.model_classes, index)
