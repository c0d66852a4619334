"""Driving the Streamlit app through `streamlit.testing` (no browser).

Background scoring runs in threads of the app's job runner; `settle` reruns the script until
no progress bar is left, as the page's polling fragment does in a browser. Text is read as it
shows on screen: names the app escapes for Markdown (``digits \\#0``) read as typed.
"""

from __future__ import annotations

import io
import re
import string
import time
from pathlib import Path

import numpy as np
from PIL import Image
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "assets" / "samples"
_ESCAPED = re.compile(rf"\\([{re.escape(string.punctuation)}])")


def new_app() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.run()
    return at


def settle(at: AppTest, timeout_s: float = 240) -> AppTest:
    """Rerun until the page shows no background progress."""
    deadline = time.monotonic() + timeout_s
    while at.get("progress") and time.monotonic() < deadline:
        time.sleep(0.5)
        at.run()
    assert not at.get("progress"), "background work did not finish"
    return at


def open_page(at: AppTest, path: str) -> AppTest:
    at.switch_page(path)
    at.run()
    return settle(at)


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def shown(markdown: str) -> str:
    """Markdown as its characters read on screen: a backslash-escaped punctuation mark is that mark."""
    return _ESCAPED.sub(r"\1", markdown)


def texts(elements) -> str:
    return "\n".join(shown(str(e.value)) for e in elements)


def image_captions(at: AppTest) -> str:
    return "\n".join(shown(caption) for image in at.get("image") for caption in image.captions)


def png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def scored_session(timeout_s: float = 560) -> AppTest:
    """A new session that scored digits against every demo OOD set on the ID vs OOD page."""
    at = open_page(new_app(), "app_pages/id_vs_ood.py")
    at.button(key="score_button").click()
    at.run()
    settle(at, timeout_s=timeout_s)
    assert "Scored" in texts(at.success)
    return at


MARKDOWN_FIELDS = {"body", "label", "help", "caption", "text", "options", "placeholder"}
PLAIN_OPTIONS = {"selectbox", "multiselect"}  # their options are plain text, not Markdown


def _markdown_fields(message, names: set[str]) -> list[str]:
    found = []
    for field, value in message.ListFields():
        single = isinstance(value, str | bytes | int | float) or hasattr(value, "ListFields")
        parts = [value] if single else list(value)  # else a repeated field
        if field.message_type is not None:
            for part in parts:
                found += _markdown_fields(part, names)
        elif field.name in names:
            found += [part for part in parts if isinstance(part, str)]
    return found


def markdown_sources(at: AppTest) -> list[str]:
    """Every string of the app's current run that Streamlit renders as Markdown: element bodies,
    widget labels, help texts and options, image captions, progress texts."""
    found, blocks = [], [at._tree]
    while blocks:
        node = blocks.pop()
        children = getattr(node, "children", None)
        if children is not None:
            blocks.extend(children.values())
        elif getattr(node, "proto", None) is not None:
            plain = {"options"} if getattr(node, "type", None) in PLAIN_OPTIONS else set()
            found += _markdown_fields(node.proto, MARKDOWN_FIELDS - plain)
    return found


def choose_cifar_weights(source: str) -> AppTest:
    """A session whose sidebar asks for a CIFAR ResNet-18 with weights from ``source``."""
    at = new_app()
    at.selectbox(key="sb_model").set_value("cifar_resnet18")
    at.run()
    at.radio(key="sb_weights").set_value(source)
    at.run()
    return at


def load_cifar_checkpoint(folder) -> AppTest:
    """A session that loaded a random-weight CIFAR ResNet-18 (10 classes) from ``folder``/r18.safetensors,
    with ``folder`` as its data root (the caller makes ``folder`` an allowed root)."""
    from safetensors.torch import save_file

    from gaia_core.models.cifar_resnet import cifar_resnet18

    save_file(cifar_resnet18(10).state_dict(), folder / "r18.safetensors")
    at = choose_cifar_weights("path")
    at.text_input(key="sb_ckpt_path").set_value(str(folder / "r18.safetensors"))
    at.text_input(key="data_root").set_value(str(folder))
    at.button(key="sb_load").click()
    at.run()
    return at


def assert_refused_and_demo_kept(at: AppTest, message: str) -> None:
    """Press Load model: ``message`` is told in the sidebar, the demo stays in use, the page runs."""
    at.button(key="sb_load").click()
    at.run()
    assert not at.exception
    assert message in texts(at.sidebar.error)
    assert at.session_state["model_choice"].name == "demo"
    assert "In use: **demo" in texts(at.sidebar.caption)
    assert at.title, "the page still runs"
