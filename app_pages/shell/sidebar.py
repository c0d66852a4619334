"""The shared sidebar: the model (architecture, weights, its preprocessing, device), the scoring
settings (the methods' own among them), the data folders; and one line at the top of every page
naming the model and the preprocessing in use. Each section runs under the error frame: a failure
in one (a malformed checkpoint, a bad path) is told in the sidebar, the previous model stays in
use and the page still runs."""

from __future__ import annotations

import dataclasses

import streamlit as st

from app_pages.shell import defaults
from app_pages.shell.defaults import start_settings
from app_pages.shell.error_frame import attempt, guarded
from app_pages.shell.folder_fields import data_section
from app_pages.shell.input_fields import entered_config, entered_mode, preprocessing_widgets
from app_pages.shell.method_fields import method_settings_widgets
from app_pages.shell.model_choice import (
    LoadedModel,
    ModelChoice,
    chosen,
    current_model,
    device_options,
    switch_to,
    with_stated_preprocessing,
)
from app_pages.shell.state import choose, kept
from app_pages.shell.typed_paths import checkpoint_file
from gaia_core.app_support.checkpoint_store import StoredCheckpoint, store_checkpoint
from gaia_core.data.input_config import describe
from gaia_core.errors import GaiaError, one_line
from gaia_core.models import ModelSpec, available_models, factory, get_spec, timm_zoo
from gaia_core.safety.markdown import escape_markdown
from gaia_core.safety.uploads import CHECKPOINT_UPLOAD_MB

TIMM_OPTION = "timm"
KEEPS_MODEL = "the previous model stays in use"
# Weights sources whose preprocessing is not a named preset's own: it is read from the checkpoint, or entered.
CHECKPOINT_SOURCES = ("upload", "path")


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


def _pending_choice(name: str, device: str) -> tuple[ModelChoice | None, StoredCheckpoint | None]:
    """The choice the sidebar's widgets describe (None after showing why it is incomplete), and
    the upload it loads (None for other weights)."""
    spec = get_spec(name)
    if spec.family == "demo":
        return ModelChoice(name, device=device), None
    classes = int(st.session_state.get("sb_num_classes") or 0)
    source = st.session_state.get("sb_weights")
    if source == "pretrained":
        return ModelChoice(name, num_classes=classes, pretrained=True, device=device), None
    if source == "upload":
        upload = st.session_state.get("sb_ckpt_upload")
        if upload is None:
            st.warning("Upload a checkpoint file first.")
            return None, None
        stored = store_checkpoint(upload.getvalue(), upload.name)
        choice = ModelChoice(name, str(stored.path), stored.digest, classes, device=device)
        return dataclasses.replace(choice, checkpoint_name=stored.display_name), stored
    found = attempt(
        "Checkpoint path refused", checkpoint_file, st.session_state.get("sb_ckpt_path", ""), defaults.data_root()
    )
    if found is None:
        return None, None
    path, digest = found
    return ModelChoice(name, str(path), digest, classes, device=device), None


def _with_preprocessing(choice: ModelChoice) -> ModelChoice:
    """``choice`` with the preprocessing the sidebar asks for: entered, or the checkpoint's own."""
    if not choice.checkpoint:
        return choice
    if entered_mode():
        return dataclasses.replace(choice, input_config=entered_config().to_json())
    return with_stated_preprocessing(choice)


def _load_pending(name: str, device: str) -> None:
    pending, stored = _pending_choice(name, device)
    if pending is None:
        return
    try:
        switch_to(_with_preprocessing(pending))
    except GaiaError as err:
        if stored is None:
            raise
        raise GaiaError(stored.named(one_line(err))) from None  # the upload's name, not its hash


def _weights_widgets(name: str, spec: ModelSpec) -> None:
    """Where the weights of a non-demo architecture come from, and its number of classes."""
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
            key=kept("sb_ckpt_path"),
            help="Only files inside the allowed folders are read; a relative path starts at the data root.",
        )
    st.number_input(
        "Classes of the checkpoint (0 = read from the checkpoint)",
        min_value=0,
        max_value=100_000,
        step=1,
        key=kept("sb_num_classes"),
    )
    if source in CHECKPOINT_SOURCES:
        preprocessing_widgets(name)


def model_section() -> None:
    """Architecture, weights, device and the Load button; the model in use under them."""
    in_use = chosen()
    st.subheader("Model")
    options = _model_options()
    choose("sb_model", options, TIMM_OPTION if timm_zoo.is_timm_name(in_use.name) else in_use.name)
    name = st.selectbox("Architecture", options, key="sb_model", format_func=_option_label, help=_options_help(options))
    st.caption(_option_description(name))
    if name == TIMM_OPTION:
        name = _timm_picker(in_use.name)
    spec = attempt("Unknown model", get_spec, name) or get_spec("demo")
    if spec.family != "demo":
        _weights_widgets(name, spec)
    choose("sb_device", device_options(), in_use.device)
    device = st.selectbox("Device", device_options(), key="sb_device")
    if st.button("Load model", key="sb_load", type="primary", width="stretch"):
        guarded(f"Loading the model failed ({KEEPS_MODEL})", _load_pending, name, device, still_works=KEEPS_MODEL)
    loaded = current_model()
    if loaded is not None:
        st.caption(f"In use: **{escape_markdown(loaded.title)}** · {loaded.model_classes} classes")
        st.caption(f"Preprocessing: {escape_markdown(describe(loaded.input_config))}")


def scoring_section() -> None:
    """Batch size, images per set, and the methods' settings."""
    st.subheader("Scoring")
    st.number_input("Batch size", min_value=1, max_value=1024, step=16, key=kept("batch_size"))
    st.number_input(
        "Images per set (at most)",
        min_value=10,
        max_value=1_000_000,
        step=100,
        key=kept("max_per_set"),
        help="Large sets are sampled evenly down to this many images.",
    )
    with st.expander("Method settings"):
        method_settings_widgets()


def page_line(loaded: LoadedModel | None) -> None:
    """The line at the top of every page: the model, and its preprocessing (stated or assumed)."""
    if loaded is not None:
        st.caption(
            f"Model **{escape_markdown(loaded.title)}** · preprocessing: {escape_markdown(describe(loaded.input_config))}"
        )


def sidebar() -> None:
    """The shared sidebar, each section under the error frame, and the page's first line."""
    start_settings()
    with st.sidebar:
        guarded("Model", model_section, still_works=KEEPS_MODEL)
        guarded("Scoring settings", scoring_section)
        guarded("Data folders", data_section)
    guarded("Model in use", page_line, current_model())
