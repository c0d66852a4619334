"""The What if? page through `streamlit.testing`: a drawn image uploaded, the slider moved, curves changed."""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
PAGE = "app_pages/what_if.py"


# Each module scores into its own cache folder (a fresh start, and no sharing with other modules).
pytestmark = pytest.mark.usefixtures("private_score_cache")


def _settle(at: AppTest, timeout_s: float = 240) -> AppTest:
    deadline = time.monotonic() + timeout_s
    while (at.get("progress") or not at.get("plotly_chart")) and time.monotonic() < deadline:
        time.sleep(0.5)
        at.run()
    return at


def _drawn_three() -> bytes:
    """A "3" drawn as white strokes on black, like a student's drawing, as a PNG."""
    canvas = np.zeros((256, 256), dtype=np.uint8)
    canvas[40:60, 70:190] = 255
    canvas[118:138, 90:190] = 255
    canvas[196:216, 70:190] = 255
    canvas[40:216, 170:190] = 255
    buffer = io.BytesIO()
    Image.fromarray(canvas).save(buffer, format="PNG")
    return buffer.getvalue()


def _curves(at: AppTest) -> dict:
    import json

    chart = next(c for c in at.get("plotly_chart") if "whatif_curves" in str(c.proto.id))
    return json.loads(chart.proto.spec)


def test_what_if_scores_an_uploaded_drawing_and_the_slider_moves_the_current_strength():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.run()
    at.switch_page(PAGE)
    at.run()
    at.radio(key="whatif_source").set_value("An upload").run()
    at.file_uploader(key="whatif_upload").upload("my_three.png", _drawn_three(), "image/png")
    at.run()
    _settle(at)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    before = _curves(at)
    lines = [t for t in before["data"] if t.get("mode") == "lines+markers"]
    assert len(lines) >= 7  # one curve per method
    for line in lines:
        assert all(0 <= y <= 100 for y in line["y"])
    shapes_before = before["layout"]["shapes"]

    at.select_slider(key="whatif_strength").set_value(0.8).run()
    assert not at.exception
    after = _curves(at)
    assert after["layout"]["shapes"] != shapes_before  # the current-strength band moved
    assert any("strength 0.80" in c for image in at.get("image") for c in image.captions)

    at.selectbox(key="whatif_perturbation").set_value("blend").run()
    _settle(at)
    assert not at.exception
    blended = [t for t in _curves(at)["data"] if t.get("mode") == "lines+markers"]
    assert [t["y"] for t in blended] != [t["y"] for t in lines]  # other perturbation, other curves


def test_what_if_names_samples_by_set_and_index_with_their_true_label():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.run()
    at.switch_page(PAGE)
    at.run()
    _settle(at)
    picker = at.selectbox(key="whatif_sample")
    assert "digits #0 · true label 1" in picker.options  # digits/0.png is a 1
    assert "letters #1" in picker.options and not any(o.endswith(".png") for o in picker.options)
    at.selectbox(key="whatif_perturbation").set_value("blend").run()
    assert "textures #0" in at.selectbox(key="whatif_other").options
