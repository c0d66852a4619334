"""The shared sidebar: the model (architecture, weights, its preprocessing, device), the scoring
settings (the methods' own among them), the data folders; and one line at the top of every page
naming the model and the preprocessing in use. Each section runs under the error frame: a failure
in one (a malformed checkpoint, a bad path) is told in the sidebar, the previous model stays in
use and the page still runs."""

from __future__ import annotations

import dataclasses

import streamlit as st

from app_pages.shell import defaults
from app_pages.shell.defaults import LAYER_KEYS, PAPER_LAYERS, start_settings
from app_pages.shell.error_frame import attempt, guarded
from app_pages.shell.model_choice import (
    LoadedModel,
    ModelChoice,
    chosen,
    current_model,
    device_options,
    layer_options,
    paper_layers,
    switch_to,
    with_stated_preprocessing,
)
from app_pages.shell.set_choices import PICKED, extra_folders, folder_listing
from app_pages.shell.state import choose, kept
from app_pages.shell.typed_paths import checkpoint_file, data_root_refusal
from gaia_core.app_support.checkpoint_store import StoredCheckpoint, store_checkpoint
from gaia_core.data.input_config import (
    CROP_RULES,
    MAX_SIZE,
    InputConfig,
    InputConfigError,
    describe,
    entered,
    input_config_of,
)
from gaia_core.errors import GaiaError, one_line
from gaia_core.models import ModelSpec, available_models, factory, get_spec, timm_zoo
from gaia_core.safety.markdown import escape_markdown
from gaia_core.safety.paths import allowed_roots
from gaia_core.safety.uploads import CHECKPOINT_UPLOAD_MB
from gaia_core.scores import method_label

TIMM_OPTION = "timm"
KEEPS_MODEL = "the previous model stays in use"
# Weights sources whose preprocessing is not a named preset's own: it is read from the checkpoint, or entered.
CHECKPOINT_SOURCES = ("upload", "path")
PREPROCESSING_MODES = {"stated": "as the checkpoint states (else assumed)", "entered": "entered here"}
CROP_TITLES = {"resize": "resize, then centre crop", "center": "centre crop, no resize", "squash": "squash to size"}
LABELS_RULE = (
    "A folder whose images lie in sub-folders is **labelled**: each sub-folder is a class (sorted names → "
    "0, 1, …). A folder with images directly in it is **unlabelled**."
)


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
    if st.session_state.get("sb_pre_mode") == "entered":
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


def _numbers(key: str, what: str) -> tuple[float, ...]:
    text = str(st.session_state.get(key, ""))
    try:
        return tuple(float(part) for part in text.replace(";", ",").split(",") if part.strip())
    except ValueError:
        raise InputConfigError(f"{what} must be numbers separated by commas, got {text!r}") from None


def entered_config() -> InputConfig:
    """The preprocessing typed into the sidebar (`gaia_core.data.input_config.entered`).

    Raises:
        InputConfigError: it does not work (the library's message says why).
    """
    state = st.session_state
    size = int(state.get("sb_pre_size") or 0)
    crop = state.get("sb_pre_crop", "resize")
    return entered(
        size,
        _numbers("sb_pre_mean", "mean"),
        _numbers("sb_pre_std", "std"),
        resize_size=int(state.get("sb_pre_resize") or 0) if crop == "resize" else size,
        crop=crop,
        channels=int(state.get("sb_pre_channels", 3)),
    )


def _prefill(name: str) -> None:
    """Start the preprocessing fields at what the architecture would use (or the model in use's
    preprocessing, for the same architecture), once per architecture."""
    if st.session_state.get("sb_pre_for") == name:
        return
    loaded = current_model()
    if loaded is not None and loaded.choice.name == name:
        config = loaded.input_config
    else:
        config = input_config_of(get_spec(name), own_weights=False)
    st.session_state.update(
        sb_pre_for=name,
        sb_pre_size=config.input_size,
        sb_pre_resize=config.resize_size,
        sb_pre_crop=config.crop,
        sb_pre_channels=config.channels,
        sb_pre_mean=", ".join(f"{v:g}" for v in config.mean),
        sb_pre_std=", ".join(f"{v:g}" for v in config.std),
    )


def _preprocessing_widgets(name: str) -> None:
    """How a checkpoint's inputs are made: as it states (sidecar, metadata, pretrained_cfg), else
    the architecture's assumed; or entered here. Applied by Load model."""
    choose("sb_pre_mode", list(PREPROCESSING_MODES), "stated")
    with st.expander("Preprocessing", expanded=st.session_state["sb_pre_mode"] == "entered"):
        mode = st.radio(
            "Preprocessing", list(PREPROCESSING_MODES), key="sb_pre_mode", format_func=PREPROCESSING_MODES.get
        )
        if mode != "entered":
            st.caption(
                "Read from a sidecar `<checkpoint name>.json`, the safetensors metadata or the model's "
                "`pretrained_cfg`; where none states it, the architecture's is assumed."
            )
            return
        _prefill(name)
        st.number_input("Input size (pixels)", min_value=0, max_value=MAX_SIZE, step=1, key=kept("sb_pre_size"))
        crop = st.selectbox(
            "Resize / crop",
            list(CROP_RULES),
            key=kept("sb_pre_crop"),
            format_func=CROP_TITLES.get,
            help="\n".join(f"- **{CROP_TITLES[k]}**: {v}" for k, v in CROP_RULES.items()),
        )
        if crop == "resize":
            st.number_input(
                "Shorter side resized to (pixels)", min_value=0, max_value=MAX_SIZE, step=1, key=kept("sb_pre_resize")
            )
        st.radio("Colour", [3, 1], key=kept("sb_pre_channels"), horizontal=True, format_func={3: "RGB", 1: "grey"}.get)
        st.text_input("Mean (one per channel, 0-1 scale)", key=kept("sb_pre_mean"))
        st.text_input("Std (one per channel, 0-1 scale)", key=kept("sb_pre_std"))
        st.caption("Applied when you press **Load model**.")


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
            key="sb_ckpt_path",
            help="Only files inside the allowed folders are read; a relative path starts at the data root.",
        )
    st.number_input(
        "Classes of the checkpoint (0 = read from the checkpoint)",
        min_value=0,
        max_value=100_000,
        step=1,
        key="sb_num_classes",
    )
    if source in CHECKPOINT_SOURCES:
        _preprocessing_widgets(name)


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
    st.number_input("Batch size", min_value=1, max_value=1024, step=16, key="batch_size")
    st.number_input(
        "Images per set (at most)",
        min_value=10,
        max_value=1_000_000,
        step=100,
        key="max_per_set",
        help="Large sets are sampled evenly down to this many images.",
    )
    with st.expander("Method settings"):
        method_settings_widgets()


def method_settings_widgets() -> None:
    """ODIN's T and ε, Energy's T, ReAct's percentile, GAIA's layers (the paper's by default)."""
    left, right = st.columns(2)
    left.number_input("ODIN T", min_value=0.001, max_value=1e6, step=100.0, format="%g", key="set_odin_t")
    right.number_input(
        "ODIN ε",
        min_value=0.0,
        max_value=1.0,
        step=0.0002,
        format="%.4f",
        key="set_odin_eps",
        help="The input perturbation, in pixel units (divided by the model's std).",
    )
    left.number_input("Energy T", min_value=0.001, max_value=1e6, step=0.5, format="%g", key="set_energy_t")
    right.number_input(
        "ReAct percentile",
        min_value=1.0,
        max_value=100.0,
        step=5.0,
        format="%g",
        key="set_react_p",
        help="Features are clipped at this percentile of the ID set's.",
    )
    st.session_state.setdefault(PAPER_LAYERS, True)
    paper = st.toggle("GAIA's layers: the paper's", key=PAPER_LAYERS)
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


def _folder_picker() -> None:
    """The folders of images under the data root, to pick as sets (listed only while asked for)."""
    if not st.toggle("Pick folders under the data root", key="sb_browse"):
        return
    listing = folder_listing(defaults.data_root())
    if listing is None:
        st.caption("The data root is not a folder you may use: nothing to list.")
        return
    described = {f.path: f for f in listing.folders}
    picked = [p for p in st.session_state.get(PICKED) or () if p not in described]
    st.multiselect(
        "Folders of images",
        [*described, *picked],
        key=kept(PICKED),
        format_func=lambda p: f"{described[p].relative} · {described[p].description}" if p in described else p,
        placeholder="Pick one or more folders",
    )
    if not listing.complete:
        st.caption("The list stops at 3 levels below the data root and 300 folders: type the path of others below.")
    if not listing.folders:
        st.caption("No folder of images under the data root.")


def data_section() -> None:
    """The data root, the folders under it to pick, extra image folders; each refused folder is told under the box."""
    root_refused = data_root_refusal(defaults.data_root())
    refusals = [*([root_refused] if root_refused else []), *extra_folders()[1]]
    with st.expander("Data folders", expanded=bool(refusals)):
        st.text_input(
            "Data root",
            key="data_root",
            help="Folder holding CIFAR, SVHN, ImageNet, ... (`python -m gaia_core datasets` says what goes where) "
            "and your own folders. Folders you may use: "
            + ", ".join(f"`{escape_markdown(str(r))}`" for r in allowed_roots()),
        )
        _folder_picker()
        st.text_area(
            "Extra image folders (one per line)",
            key="extra_folders",
            help="Any folder of images becomes a set you can pick as ID or OOD; a relative path starts at the data root.",
        )
        st.caption(LABELS_RULE)
        for refusal in refusals:
            st.error(escape_markdown(refusal), icon=":material/error:")


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
