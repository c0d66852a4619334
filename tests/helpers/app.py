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
