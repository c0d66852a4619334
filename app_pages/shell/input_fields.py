"""The sidebar's preprocessing fields for a checkpoint that is not a named preset's own weights
(someone else's, a factory model's, an upload): as the checkpoint states it (a sidecar
``<stem>.json``, the safetensors metadata, a timm ``pretrained_cfg``; else the architecture's,
assumed), or entered here. Load model applies them; a bad entry is refused with the library's
message (`gaia_core.data.input_config`) and the model in use keeps its preprocessing."""

from __future__ import annotations

import streamlit as st

from app_pages.shell.model_choice import current_model
from app_pages.shell.state import choose, kept
from gaia_core.data.input_config import (
    CROP_RULES,
    MAX_SIZE,
    InputConfig,
    InputConfigError,
    entered,
    input_config_of,
)
from gaia_core.models import get_spec

PREPROCESSING_MODES = {"stated": "as the checkpoint states (else assumed)", "entered": "entered here"}
CROP_TITLES = {"resize": "resize, then centre crop", "center": "centre crop, no resize", "squash": "squash to size"}


def entered_mode() -> bool:
    """Whether the user enters the preprocessing (else the checkpoint's own, or assumed)."""
    return st.session_state.get("sb_pre_mode") == "entered"


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
    """Start the preprocessing fields at what the model in use is fed with (its architecture), or
    what the architecture would assume; again after each switch to "entered" or of architecture."""
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


def preprocessing_widgets(name: str) -> None:
    """How a checkpoint's inputs are made: as it states (sidecar, metadata, pretrained_cfg), else
    the architecture's assumed; or entered here. Applied by Load model."""
    choose("sb_pre_mode", list(PREPROCESSING_MODES), "stated")
    with st.expander("Preprocessing", expanded=st.session_state["sb_pre_mode"] == "entered"):
        mode = st.radio(
            "Where it comes from",
            list(PREPROCESSING_MODES),
            key="sb_pre_mode",
            format_func=PREPROCESSING_MODES.get,
            on_change=lambda: st.session_state.pop("sb_pre_for", None),  # entered: start from what is in use
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
