"""The model in use: what the sidebar picks, loaded once per server and shared by every session."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
import torch
from torch import nn

from app_pages.data_sets import ensure_data_defaults
from app_pages.frame import attempt
from app_pages.state import choose
from gaia_core.app_support.checkpoint_store import store_checkpoint
from gaia_core.device import best_device
from gaia_core.models import (
    ModelSpec,
    available_models,
    class_label,
    factory,
    get_spec,
    load_model,
    output_classes,
    timm_zoo,
    weights_fingerprint,
)
from gaia_core.safety import resolve_allowed
from gaia_core.safety.uploads import CHECKPOINT_UPLOAD_MB


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


def current_model() -> LoadedModel | None:
    """The model in use in this session (the demo until another one loads successfully)."""
    choice = st.session_state.setdefault("model_choice", default_choice())
    return attempt("Loading the model failed", load, choice)


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


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _pending_choice(name: str, device: str) -> ModelChoice | None:
    """The choice the sidebar's widgets describe (None after showing why it is incomplete)."""
    spec = get_spec(name)
    if spec.family == "demo":
        return ModelChoice(name, device=device)
    classes = int(st.session_state.get("sb_num_classes") or 0)
    source = st.session_state.get("sb_weights")
    if source == "pretrained":
        return ModelChoice(name, num_classes=classes, pretrained=True, device=device)
    if source == "upload":
        upload = st.session_state.get("sb_ckpt_upload")
        if upload is None:
            st.sidebar.warning("Upload a checkpoint file first.")
            return None
        path, digest = store_checkpoint(upload.getvalue(), upload.name)
        return ModelChoice(name, str(path), digest, classes, device=device)
    path = attempt("Checkpoint path refused", resolve_allowed, st.session_state.get("sb_ckpt_path", ""), kind="file")
    if path is None:
        return None
    return ModelChoice(name, str(path), _file_sha256(path), classes, device=device)


TIMM_OPTION = "timm"


def _model_options() -> list[str]:
    """Registered models, the operator's factories (GAIA_MODEL_FACTORIES; never typed by a
    visitor), and "timm" (any of timm's convolutional architectures)."""
    operators = attempt("GAIA_MODEL_FACTORIES is malformed", factory.operator_factories) or {}
    return [*available_models(), *operators.values(), TIMM_OPTION]


def _option_label(option: str) -> str:
    """The short name shown in the sidebar's select (a description there is cut off at 1024 px);
    `_option_description` says the rest, under the select and in its tooltip."""
    if option == TIMM_OPTION:
        return "timm (pick below)"
    if factory.is_factory_name(option):
        labels = {v: k for k, v in (attempt("GAIA_MODEL_FACTORIES", factory.operator_factories) or {}).items()}
        return labels.get(option, option)
    return option


def _option_description(option: str) -> str:
    """What an architecture option is, in full."""
    if option == TIMM_OPTION:
        return "Any convolutional architecture from timm (pick it below)."
    if factory.is_factory_name(option):
        return f"The operator's own architecture ({option})."
    return get_spec(option).description


def _options_help(options: list[str]) -> str:
    return "\n".join(f"- **{_option_label(o)}**: {_option_description(o)}" for o in options)


def _timm_picker(in_use: str) -> str:
    """A searchable choice among timm's convolutional architectures; returns ``timm:<name>``."""
    names = list(timm_zoo.conv_models())
    current = in_use[len(timm_zoo.PREFIX) :] if timm_zoo.is_timm_name(in_use) else "resnet50"
    choose("sb_timm", names, current if current in names else names[0])
    arch = st.selectbox("timm architecture (type to search)", names, key="sb_timm")
    return timm_zoo.PREFIX + arch


def sidebar() -> LoadedModel | None:
    """The shared sidebar: model, weights, device, batch size, data root. Returns the model in use."""
    in_use = st.session_state.setdefault("model_choice", default_choice())
    with st.sidebar:
        st.subheader("Model")
        options = _model_options()
        choose("sb_model", options, TIMM_OPTION if timm_zoo.is_timm_name(in_use.name) else in_use.name)
        name = st.selectbox(
            "Architecture", options, key="sb_model", format_func=_option_label, help=_options_help(options)
        )
        st.caption(_option_description(name))
        if name == TIMM_OPTION:
            name = _timm_picker(in_use.name)
        spec = attempt("Unknown model", get_spec, name) or get_spec("demo")
        if spec.family != "demo":
            sources = (["pretrained"] if spec.has_pretrained else []) + ["upload", "path"]
            choose("sb_weights", sources, sources[0])
            labels = {
                "pretrained": "timm pretrained" if timm_zoo.is_timm_name(name) else "torchvision pretrained",
                "upload": "upload",
                "path": "path on the server",
            }
            source = st.radio("Weights", sources, key="sb_weights", horizontal=True, format_func=labels.get)
            if source == "upload":
                st.file_uploader(
                    "Checkpoint (.safetensors, .pt, .pth)",
                    key="sb_ckpt_upload",
                    max_upload_size=CHECKPOINT_UPLOAD_MB,
                    help=f"Up to {CHECKPOINT_UPLOAD_MB} MB through the browser; larger checkpoints: "
                    "choose 'path on the server'.",
                )
            elif source == "path":
                st.text_input(
                    "Checkpoint path",
                    key="sb_ckpt_path",
                    help="Only files inside the allowed folders (GAIA_ALLOWED_ROOTS) are read.",
                )
            st.number_input(
                "Classes of the checkpoint (0 = read from the checkpoint)",
                min_value=0,
                max_value=100_000,
                step=1,
                key="sb_num_classes",
            )
        choose("sb_device", device_options(), in_use.device)
        device = st.selectbox("Device", device_options(), key="sb_device")
        if st.button("Load model", key="sb_load", type="primary", width="stretch"):
            pending = _pending_choice(name, device)
            if (
                pending is not None
                and attempt("Loading the model failed (the previous model stays in use)", load, pending) is not None
            ):
                st.session_state["model_choice"] = pending
        loaded = current_model()
        if loaded is not None:
            st.caption(f"In use: **{loaded.title}** · {loaded.model_classes} classes")
        st.subheader("Scoring")
        st.session_state.setdefault("batch_size", 64)
        st.number_input("Batch size", min_value=1, max_value=1024, step=16, key="batch_size")
        st.session_state.setdefault("max_per_set", 1000)
        st.number_input(
            "Images per set (at most)",
            min_value=10,
            max_value=1_000_000,
            step=100,
            key="max_per_set",
            help="Large sets are sampled evenly down to this many images.",
        )
        with st.expander("Data folders"):
            st.session_state.setdefault("data_root", "data")
            st.text_input(
                "Data root",
                key="data_root",
                help="Folder holding CIFAR, SVHN, ImageNet, ... (`python -m gaia_core datasets` "
                "says what goes where). Must be inside the allowed folders.",
            )
            st.text_area(
                "Extra image folders (one per line)",
                key="extra_folders",
                help="Any folder of images becomes a set you can pick as ID or OOD.",
            )
    return loaded
