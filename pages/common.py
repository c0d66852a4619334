"""Shared plumbing of the pages: the app frame, errors shown as messages, choices that survive
page switches, the model in use and the sidebar, and the data sets on offer. Scoring in the
background is in `pages.scoring`; the math is `gaia_core`'s."""

from __future__ import annotations

import hashlib
import logging
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import streamlit as st
import torch
from torch import nn

from gaia_core.data import DataError, PRESETS, SOURCES
from gaia_core.demo import DemoWeightsError
from gaia_core.demo.data import DEMO_SETS
from gaia_core.device import best_device
from gaia_core.models import ModelSpec, available_models, class_label, get_spec, load_model, weights_fingerprint
from gaia_core.safety import resolve_allowed
from gaia_core.scores import NotFittedError, available
from pages.nav import navigation

LOG = logging.getLogger("gaia_explorer")
T = TypeVar("T")

ALL_METHODS = tuple(available())
GAIA_METHODS = ("gaia_a", "gaia_z")
# Errors gaia_core documents for bad input (CheckpointError, LayerError, ImageRejected,
# PathNotAllowed, AttributionError, ChartError are ValueErrors): shown as messages.
USER_ERRORS = (ValueError, DataError, NotFittedError, DemoWeightsError, torch.OutOfMemoryError)
FAMILY_PRESET = {"demo": "demo", "cifar": "cifar10", "imagenet": "imagenet"}
# Choices made on one page and read on others; re-assigned every run so that Streamlit does
# not drop them while their page is not shown.
PERSISTENT_KEYS = (
    "id_set", "ood_sets", "methods", "attr_method", "attr_noise", "attr_readout", "inspect_samples",
    "inspect_positions", "hist_method", "roc_set", "metrics_set", "readout_samples", "ch_method", "ch_ood",
    "ch_kind", "ch_per", "ch_channel", "mis_method", "mis_tpr", "mis_sort", "mis_filter", "how_layer",
    "how_id_set", "how_id_index", "how_ood_set", "how_ood_index",
)


_RUN = threading.local()  # .from_app: this script run went through app.py


# ---------------------------------------------------------------------------------------------
# App frame, errors and persistent choices


def run_app(page: Any) -> None:
    """Everything app.py does after declaring the pages: choices, the sidebar, then ``page``."""
    keep_choices()
    sidebar()
    run_page(page)


def run_page(page: Any) -> None:
    """Run a page; a bug (not a user error) is logged with its traceback and told in the page."""
    _RUN.from_app = True
    try:
        page.run()
    except Exception as err:
        LOG.exception("page %s failed", page.title)
        st.error(f"**Unexpected error on this page** ({type(err).__name__}: {one_line(err)}). The details are in "
                 "the server log; other pages still work.", icon=":material/bug_report:")
    finally:
        _RUN.from_app = False


def one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


def attempt(what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
    """``fn(*args, **kwargs)``, or None after showing a documented gaia_core error as a message."""
    try:
        return fn(*args, **kwargs)
    except USER_ERRORS as err:
        LOG.info("%s: %s", what, one_line(err))
        st.error(f"**{what}:** {one_line(err)}", icon=":material/error:")
        return None


def keep_choices() -> None:
    """Re-assign the persistent choices so they survive pages where their widget is not drawn."""
    for key in PERSISTENT_KEYS:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def choose(key: str, options: Sequence, default: Any) -> None:
    """Make ``st.session_state[key]`` a valid value for a widget over ``options`` (before drawing it)."""
    value = st.session_state.get(key)
    if isinstance(default, list):
        if not isinstance(value, list):
            st.session_state[key] = [v for v in default if v in options]
        elif not all(v in options for v in value):
            st.session_state[key] = [v for v in value if v in options]
    elif value not in options:
        st.session_state[key] = default if default in options else (options[0] if options else None)


# ---------------------------------------------------------------------------------------------
# The model


@dataclass(frozen=True)
class ModelChoice:
    """Which model to load; plain values, so it keys caches."""

    # Registry name (`gaia_core.models.available_models`).
    name: str = "demo"
    # Weights file on this machine ("" = none: the demo's own, or pretrained).
    checkpoint: str = ""
    # sha256 of the weights file (changes when the file does).
    checkpoint_sha256: str = ""
    # Classes of the checkpoint (0 = the architecture's default).
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
    def title(self) -> str:
        weights = Path(self.choice.checkpoint).name if self.choice.checkpoint else (
            "pretrained" if self.choice.pretrained else "shipped weights")
        return f"{self.choice.name} ({weights}) on {self.choice.device}"


@st.cache_resource(max_entries=3, show_spinner="Loading the model…")
def _load(name: str, checkpoint: str, checkpoint_sha256: str, num_classes: int, pretrained: bool, device: str):
    model = load_model(name, checkpoint or None, num_classes=num_classes or None, pretrained=pretrained,
                       device=device)
    choice = ModelChoice(name, checkpoint, checkpoint_sha256, num_classes, pretrained, device)
    return LoadedModel(choice, model, get_spec(name), weights_fingerprint(model))


def load(choice: ModelChoice) -> LoadedModel:
    return _load(choice.name, choice.checkpoint, choice.checkpoint_sha256, choice.num_classes, choice.pretrained,
                 choice.device)


def device_options() -> list[str]:
    return ["cpu", *(f"cuda:{i}" for i in range(torch.cuda.device_count()))]


def default_choice() -> ModelChoice:
    return ModelChoice(device="cuda:0" if best_device().type == "cuda" else "cpu")


def current_model() -> LoadedModel | None:
    """The model in use in this session (the demo until another one loads successfully)."""
    choice = st.session_state.setdefault("model_choice", default_choice())
    return attempt("Loading the model failed", load, choice)


def class_name(loaded: LoadedModel, index: int) -> str:
    """A predicted class as a person reads it ("3", "7 · horse", "207 · golden retriever")."""
    return class_label(loaded.spec, loaded.choice.num_classes or loaded.spec.num_classes, index)


def _uploaded_checkpoint(upload) -> tuple[str, str]:
    data = upload.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    folder = Path(tempfile.gettempdir()) / "gaia_checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{digest}{Path(upload.name).suffix.lower()[:12]}"
    if not path.exists():
        path.write_bytes(data)
    return str(path), digest


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
        path, digest = _uploaded_checkpoint(upload)
        return ModelChoice(name, path, digest, classes, device=device)
    path = attempt("Checkpoint path refused", resolve_allowed, st.session_state.get("sb_ckpt_path", ""), kind="file")
    if path is None:
        return None
    return ModelChoice(name, str(path), _file_sha256(path), classes, device=device)


def sidebar() -> LoadedModel | None:
    """The shared sidebar: model, weights, device, batch size, data root. Returns the model in use."""
    in_use = st.session_state.setdefault("model_choice", default_choice())
    with st.sidebar:
        st.subheader("Model")
        choose("sb_model", available_models(), in_use.name)
        name = st.selectbox("Architecture", available_models(), key="sb_model",
                            format_func=lambda n: f"{n} — {get_spec(n).description}")
        spec = get_spec(name)
        if spec.family != "demo":
            sources = (["pretrained"] if spec.has_pretrained else []) + ["upload", "path"]
            choose("sb_weights", sources, sources[0])
            labels = {"pretrained": "torchvision pretrained", "upload": "upload", "path": "path on the server"}
            source = st.radio("Weights", sources, key="sb_weights", horizontal=True, format_func=labels.get)
            if source == "upload":
                st.file_uploader("Checkpoint (.safetensors, .pt, .pth)", key="sb_ckpt_upload")
            elif source == "path":
                st.text_input("Checkpoint path", key="sb_ckpt_path",
                              help="Only files inside the allowed folders (GAIA_ALLOWED_ROOTS) are read.")
            st.number_input("Classes of the checkpoint (0 = default)", min_value=0, max_value=100_000, step=1,
                            key="sb_num_classes")
        choose("sb_device", device_options(), in_use.device)
        device = st.selectbox("Device", device_options(), key="sb_device")
        if st.button("Load model", key="sb_load", type="primary", width="stretch"):
            pending = _pending_choice(name, device)
            if pending is not None and attempt("Loading the model failed (the previous model stays in use)",
                                               load, pending) is not None:
                st.session_state["model_choice"] = pending
        loaded = current_model()
        if loaded is not None:
            classes = loaded.choice.num_classes or loaded.spec.num_classes
            st.caption(f"In use: **{loaded.title}** · {classes} classes")
        st.subheader("Scoring")
        st.session_state.setdefault("batch_size", 64)
        st.number_input("Batch size", min_value=1, max_value=1024, step=16, key="batch_size")
        st.session_state.setdefault("max_per_set", 1000)
        st.number_input("Images per set (at most)", min_value=10, max_value=1_000_000, step=100,
                        key="max_per_set", help="Large sets are sampled evenly down to this many images.")
        with st.expander("Data folders"):
            st.session_state.setdefault("data_root", "data")
            st.text_input("Data root", key="data_root",
                          help="Folder holding CIFAR, SVHN, ImageNet, ... (`python -m gaia_core datasets` "
                               "says what goes where). Must be inside the allowed folders.")
            st.text_area("Extra image folders (one per line)", key="extra_folders",
                         help="Any folder of images becomes a set you can pick as ID or OOD.")
    return loaded


# ---------------------------------------------------------------------------------------------
# Datasets


def extra_folders() -> list[str]:
    folders = []
    for line in st.session_state.get("extra_folders", "").splitlines():
        if line.strip():
            path = attempt(f"Folder '{line.strip()}' refused", resolve_allowed, line, kind="dir")
            if path is not None:
                folders.append(str(path))
    return folders


def set_options(spec: ModelSpec) -> list[str]:
    """Dataset names the user can pick for this model."""
    if spec.family == "demo":
        names = list(DEMO_SETS)
    else:
        names = [n for n in SOURCES if n != "places365" or spec.family == "cifar"]
        names += [n for n in DEMO_SETS if n not in SOURCES]
    return names + extra_folders()


def set_title(name: str) -> str:
    if name in DEMO_SETS:
        return DEMO_SETS[name].title
    if name in SOURCES:
        return SOURCES[name].title
    return Path(name).name or name


def default_sets(spec: ModelSpec) -> tuple[str, list[str]]:
    preset = PRESETS[FAMILY_PRESET[spec.family]]
    return preset.id_set, list(preset.ood_sets)


def ensure_data_defaults(spec: ModelSpec) -> None:
    """Start with the family's benchmark; reset the picks when the model family changes."""
    if st.session_state.get("data_family") != spec.family:
        id_set, ood_sets = default_sets(spec)
        st.session_state.update(data_family=spec.family, id_set=id_set, ood_sets=ood_sets)
    options = set_options(spec)
    id_default, ood_default = default_sets(spec)
    choose("id_set", options, id_default)
    choose("ood_sets", [o for o in options if o != st.session_state["id_set"]], ood_default)
    choose("methods", list(ALL_METHODS), list(ALL_METHODS))


def page_model() -> LoadedModel:
    """The model in use, or stop the page with a message saying what to do.

    Streamlit runs a page file on its own, without app.py, when ``pages/`` looks like an
    old-style page folder: on a server's very first script run, and on every `AppTest` run.
    The page then runs the whole app (which runs this page again, inside it) and stops, so
    that every run draws the same widgets the same way and no click is lost.
    """
    if not getattr(_RUN, "from_app", False):
        run_app(navigation())
        st.stop()
    loaded = current_model()
    if loaded is None:
        st.info("No model is loaded. Pick one in the sidebar and press **Load model**.", icon=":material/info:")
        st.stop()
    ensure_data_defaults(loaded.spec)
    return loaded


def remember_uploads(uploader_key: str, store_key: str) -> None:
    """Keep an uploader's files in the session (on_change), so they survive page switches."""
    files = st.session_state.get(uploader_key) or []
    st.session_state[store_key] = [(f.name, f.getvalue()) for f in files]
