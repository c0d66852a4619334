"""The model in use: which model a session chose, loaded once per server and shared by every
session, and the preprocessing it is fed with (stated by its provider, entered by the user, or
assumed from the architecture; see `gaia_core.data.input_config`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
import torch
from torch import nn

from app_pages.shell.error_frame import attempt
from app_pages.shell.set_choices import ensure_data_defaults
from gaia_core.data.input_config import InputConfig, input_config_of, read_input_config, with_input_config
from gaia_core.data.preprocessing import upload_transform
from gaia_core.device import best_device
from gaia_core.errors import GaiaError
from gaia_core.models import (
    ModelSpec,
    class_label,
    factory,
    get_spec,
    load_model,
    output_classes,
    weights_fingerprint,
)
from gaia_core.scores import GAIA_METHODS
from gaia_core.scores.settings import default_layers
from gaia_core.scores.taps import norm_layers


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
    # The weights file's name as the user knows it (an upload's own name, not its hash); "" = the file's.
    checkpoint_name: str = ""
    # The preprocessing stated by the checkpoint or entered by the user (`InputConfig.to_json`);
    # "" = the architecture's own (the demo, pretrained weights) or, for a checkpoint, assumed.
    input_config: str = ""

    @property
    def weights_name(self) -> str:
        """The weights as a person names them: the file's name, "pretrained" or "shipped weights"."""
        if self.checkpoint:
            return self.checkpoint_name or Path(self.checkpoint).name
        return "pretrained" if self.pretrained else "shipped weights"


@dataclass(frozen=True)
class LoadedModel:
    """A loaded model shared by every session (only used through gaia_core's thread-safe calls)."""

    choice: ModelChoice
    model: nn.Module
    # The architecture's spec, its input fields those of a stated or entered preprocessing.
    spec: ModelSpec
    fingerprint: str
    # The preprocessing in use and where it comes from (stated, entered or assumed).
    input_config: InputConfig

    @property
    def key(self) -> tuple:
        return (self.choice.name, self.fingerprint, self.choice.device, self.choice.input_config)

    @property
    def stated_config(self) -> InputConfig | None:
        """The preprocessing read from the checkpoint or entered by the user; None when the
        model uses its architecture's own (or an assumed) one."""
        return InputConfig.from_json(self.choice.input_config) if self.choice.input_config else None

    def upload_transform(self, id_set: str):
        """PIL image -> model input, as the sets of ``id_set``'s benchmark are preprocessed for this model."""
        return upload_transform(self.spec, id_set, self.stated_config)

    @property
    def model_classes(self) -> int:
        """Classes the loaded model outputs."""
        return output_classes(self.model) or self.choice.num_classes or self.spec.num_classes

    @property
    def title(self) -> str:
        """What the model is, as plain text (it names the weights file: escape it for Markdown)."""
        return f"{self.choice.name} ({self.choice.weights_name}) on {self.choice.device}"


@st.cache_resource(max_entries=3, show_spinner="Loading the model…")
def _load(name: str, checkpoint: str, checkpoint_sha256: str, num_classes: int, pretrained: bool, device: str):
    model = load_model(name, checkpoint or None, num_classes=num_classes or None, pretrained=pretrained, device=device)
    choice = ModelChoice(name, checkpoint, checkpoint_sha256, num_classes, pretrained, device)
    spec = get_spec(name)
    # Someone else's checkpoint only assumes the architecture's preprocessing.
    assumed = input_config_of(spec, own_weights=not checkpoint)
    return LoadedModel(choice, model, spec, weights_fingerprint(model), assumed)


def _configured(base: LoadedModel, choice: ModelChoice) -> LoadedModel:
    config = InputConfig.from_json(choice.input_config) if choice.input_config else base.input_config
    spec = with_input_config(base.spec, config) if choice.input_config else base.spec
    return dataclasses.replace(base, choice=choice, spec=spec, input_config=config)


def load(choice: ModelChoice) -> LoadedModel:
    """The model of ``choice`` (its weights loaded once per server), with the choice's preprocessing."""
    base = _load(
        choice.name, choice.checkpoint, choice.checkpoint_sha256, choice.num_classes, choice.pretrained, choice.device
    )
    return base if choice == base.choice else _configured(base, choice)


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


def with_stated_preprocessing(choice: ModelChoice) -> ModelChoice:
    """``choice`` with the preprocessing its checkpoint states (`read_input_config`: a sidecar
    ``<stem>.json``, the safetensors metadata, the model's timm ``pretrained_cfg``), or none
    stated: the architecture's, assumed.

    Raises:
        InputConfigError: what the checkpoint states is unreadable or does not work.
    """
    base = load(dataclasses.replace(choice, input_config=""))
    stated = read_input_config(choice.checkpoint, base.model) if choice.checkpoint else None
    return dataclasses.replace(choice, input_config=stated.to_json() if stated is not None else "")


def current_model() -> LoadedModel | None:
    """The model in use in this session."""
    return attempt("Loading the model failed", load, chosen())


def page_model() -> LoadedModel:
    """The model in use, or stop the page with a message saying what to do."""
    loaded = current_model()
    if loaded is None:
        st.info("No model is loaded. Pick one in the sidebar and press **Load model**.", icon=":material/info:")
        st.stop()
    ensure_data_defaults(loaded.spec, loaded.model_classes)
    return loaded


def model_label(name: str) -> str:
    """A model's name as the sidebar's menu shows it: the operator's label of a factory, else its name."""
    if not factory.is_factory_name(name):
        return name
    try:
        labels = {target: label for label, target in factory.operator_factories().items()}
    except GaiaError:  # a malformed GAIA_MODEL_FACTORIES is told in the sidebar
        labels = {}
    return labels.get(name, name)


def class_name(loaded: LoadedModel, index: int) -> str:
    """A predicted class as a person reads it ("3", "7 · horse", "207 · golden retriever")."""
    return class_label(loaded.spec, loaded.model_classes, index)


@st.cache_resource(max_entries=8, show_spinner=False)
def _layers(model_key: tuple, _model: nn.Module) -> tuple[list[str], dict[str, list[str]]]:
    paper = {name: default_layers(_model, name) for name in GAIA_METHODS}
    return list(dict.fromkeys([*norm_layers(_model), *(n for layers in paper.values() for n in layers)])), paper


def layer_options(loaded: LoadedModel) -> list[str]:
    """The layers GAIA's layer pickers offer: the model's normalization layers (and the paper's picks)."""
    return _layers(loaded.key, loaded.model)[0]


def paper_layers(loaded: LoadedModel, method: str) -> list[str]:
    """The paper's layers of a GAIA method ("gaia_z", "gaia_a") on the model in use (`default_layers`)."""
    return _layers(loaded.key, loaded.model)[1][method]
