"""Inspection depth (issues 13 and 14) through `streamlit.testing`: samples named by set and index with
their true label and whether the model got them right, each image's per-layer percentiles among the ID
images, what the loader did to an upload beside what the model sees, uploads counted and refusals
forgotten after a page switch, and the layer lab's tables read back instead of recomputed on a rerun."""

from __future__ import annotations

import io
import json
import re
import time

import numpy as np
import pytest
from helpers import app as app_helpers
from helpers.app import (
    SAMPLES,
    assert_clean,
    image_captions,
    open_page,
    settle,
    texts,
)
from PIL import Image
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.usefixtures("private_score_cache")


def new_app() -> AppTest:
    at = app_helpers.new_app()
    at.session_state["max_per_set"] = 60  # small sets: the ID reference and the benchmark score fast
    return at


def charts(at: AppTest, key_part: str) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart") if key_part in str(c.proto.id)]


def test_inspect_names_samples_by_set_and_index_with_their_true_label_and_whether_the_model_is_right():
    at = open_page(new_app(), "app_pages/inspect.py")
    picker = at.multiselect(key="inspect_samples")
    assert "digits #0 · true label 1" in picker.options  # digits/0.png is a 1
    assert "letters #1" in picker.options
    picker.set_value(["digits/0.png", "letters/1.png"])
    at.run()
    settle(at)
    assert_clean(at)
    summary = at.dataframe(key="inspect_table").value.set_index("image")
    assert list(summary.index) == ["digits #0", "letters #1"]
    assert summary.loc["digits #0", "true label"] == "1"
    assert summary.loc["digits #0", "correct"] == (summary.loc["digits #0", "prediction"] == "1")
    assert summary.loc["letters #1", "true label"] == "" and summary.loc["letters #1", "correct"] is None
    assert "True label **1**" in texts(at.markdown)


def test_inspect_shows_the_focused_images_percentile_among_id_images_layer_by_layer():
    at = open_page(new_app(), "app_pages/inspect.py")
    at.multiselect(key="inspect_samples").set_value(["noise/0.png"])
    at.run()
    settle(at)
    assert_clean(at)
    for method in ("gaia_z", "gaia_a"):
        (spec,) = charts(at, f"inspect_detail_layer_pct_{method}")
        (bars,) = spec["data"]
        assert len(bars["x"]) > 1 and all(0 <= p <= 100 for p in bars["y"])
    assert "most abnormal layers" in texts(at.caption)


def test_leaving_inspect_and_coming_back_counts_the_accepted_uploads_and_forgets_the_refusal():
    at = open_page(new_app(), "app_pages/inspect.py")
    at.multiselect(key="inspect_samples").set_value([])
    uploader = at.file_uploader(key="inspect_upload")
    uploader.upload("good.png", (SAMPLES / "digits" / "2.png").read_bytes(), "image/png")
    uploader.upload("broken.png", b"GIF89a not really", "image/png")
    at.run()
    settle(at)
    assert "broken.png" in texts(at.error) and len(at.error) == 1  # the refusal, with the upload that caused it

    at = open_page(at, "app_pages/overview.py")
    at = open_page(at, "app_pages/inspect.py")
    assert_clean(at)  # the old refusal is not shown again
    assert "Still inspecting 1 uploaded image(s)" in texts(at.caption)
    assert list(at.dataframe(key="inspect_table").value["image"]) == ["good.png"]


def test_an_uploaded_photo_shows_what_the_loader_did_beside_what_the_model_sees():
    at = open_page(new_app(), "app_pages/inspect.py")
    at.multiselect(key="inspect_samples").set_value([])
    rng = np.random.default_rng(0)
    frames = [Image.fromarray(rng.integers(0, 255, (427, 640, 3), dtype=np.uint8)) for _ in range(2)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])  # an animated colour photo
    at.file_uploader(key="inspect_upload").upload("photo.gif", buffer.getvalue(), "image/gif")
    at.run()
    settle(at)
    assert_clean(at)
    notes = texts(at.markdown)
    assert "animated (2 frames): first frame used" in notes
    assert "640×427 colour picture → the model's 32×32 grey input" in notes
    assert "colour converted to grey" in notes
    assert "centre crop 32×32 keeps the middle 68% of the width" in notes
    captions = image_captions(at)
    assert "As decoded (640×427)" in captions and "What the model sees (32×32, grey)" in captions


def _scored_misflagged() -> AppTest:
    at = open_page(new_app(), "app_pages/misflagged.py")
    at.button(key="misflagged_score").click()
    at.run()
    return settle(at)


def test_misflagged_names_images_by_set_and_index_and_shows_the_focused_images_layer_percentiles():
    at = _scored_misflagged()
    assert_clean(at)
    at.slider(key="mis_tpr").set_value(0.8)
    at.run()
    id_table = next(d.value for d in at.dataframe if "mis_id_rows" in str(d.proto.id))
    assert "image" in id_table.columns and id_table["image"].str.fullmatch(r"digits #\d+").all()
    captions = image_captions(at)
    # The gallery's one-line captions: "digits #17 · true 3 · pred 3" (issue 21: true and predicted class).
    assert "digits #" in captions and re.search(r"digits #\d+ · true \d · pred \d", captions)
    assert "digits:" not in captions

    index = int(id_table.iloc[0]["image"].split("#")[1])  # the position in the whole set, as the sample id says
    at.session_state["mis_focus"] = (f"digits:{index}", "digits")
    at.run()
    assert_clean(at)
    for method in ("gaia_z", "gaia_a"):
        (spec,) = charts(at, f"mis_detail_layer_pct_{method}")
        assert len(spec["data"][0]["x"]) > 1


def test_a_layer_lab_rerun_reads_the_per_layer_table_back_instead_of_recomputing_it(monkeypatch):
    from gaia_core.evaluation import layer_lab

    calls = []
    original = layer_lab.per_layer_metrics

    def counted(*args, **kwargs):
        calls.append(args[2:])
        return original(*args, **kwargs)

    monkeypatch.setattr(layer_lab, "per_layer_metrics", counted)
    import streamlit

    streamlit.cache_data.clear()  # tables cached by an earlier test in this process would hide the first call
    at = open_page(new_app(), "app_pages/layer_lab.py")
    at.button(key="lab_score").click()
    at.run()
    settle(at)
    assert_clean(at)
    before = len(calls)
    assert before >= 1
    at.run()  # any widget click reruns the page
    at.multiselect(key="lab_layers_gaia_z").set_value(at.multiselect(key="lab_layers_gaia_z").value[:2]).run()
    assert_clean(at)
    assert len(calls) == before  # neither the rerun nor a new layer subset recomputes each layer alone
    at.selectbox(key="lab_aggregation").set_value("mean").run()
    assert len(calls) == before + 1 and calls[-1][0] == "mean"  # a new aggregation is a new table


def test_before_the_id_reference_is_ready_no_table_shows_a_literal_none(monkeypatch):
    from app_pages.shell import scoring_jobs

    monkeypatch.setattr(scoring_jobs, "reference", lambda loaded: None)  # the reference is still computing
    at = open_page(new_app(), "app_pages/inspect.py")
    at.multiselect(key="inspect_samples").set_value(["digits/0.png"])
    at.run()
    settle(at)
    assert_clean(at)
    assert "No ID reference yet (computing…)" in texts(at.caption)
    for frame in at.dataframe:
        shown = frame.value.astype(str)
        assert not shown.isin(["None", "nan", "NaN"]).any().any(), f"{frame.key}:\n{shown}"
        assert not any("threshold" in str(column) for column in shown.columns), frame.key


def test_how_gaia_works_names_its_two_images_by_set_and_index_with_the_true_label():
    at = open_page(new_app(), "app_pages/how_it_works.py")
    assert_clean(at)
    captions = image_captions(at).splitlines()
    assert "ID: digits #0 · true label 1" in captions  # digits/0 is a 1
    assert any(c.startswith("OOD: natural #0") for c in captions)
    assert not any(":0" in c for c in captions)  # no sample id that reads like a label


def test_a_picked_sample_scores_on_inspect_as_on_what_if_and_its_png_uploaded_scores_as_an_upload():
    at = open_page(new_app(), "app_pages/inspect.py")
    at.multiselect(key="inspect_samples").set_value(["digits/0.png"])
    at.file_uploader(key="inspect_upload").upload("0.png", (SAMPLES / "digits" / "0.png").read_bytes(), "image/png")
    at.run()
    settle(at)
    assert_clean(at)
    summary = at.dataframe(key="inspect_table").value.set_index("image")
    sample, upload = summary.loc["digits #0"], summary.loc["0.png"]
    at = open_page(at, "app_pages/what_if.py")
    deadline = time.monotonic() + 300
    while not any("first flags at" in d.value.columns for d in at.dataframe) and time.monotonic() < deadline:
        time.sleep(0.5)
        at.run()
    assert_clean(at)
    assert at.selectbox(key="whatif_sample").value == "digits/0.png"
    verdicts = next(d.value for d in at.dataframe if "first flags at" in d.value.columns).set_index("method")
    for method in ("GAIA-Z", "GAIA-A"):
        assert sample[method] == pytest.approx(verdicts.loc[method, "score"], rel=1e-6), method
        # The PNG is an 8-bit rounding of the set's pixels: uploaded, it is another input, named by its file.
        assert upload[method] != pytest.approx(sample[method], rel=1e-6), method


def test_a_focused_sample_is_said_to_be_its_sets_own_image_and_an_upload_gets_the_loaders_notes():
    at = open_page(new_app(), "app_pages/inspect.py")
    at.multiselect(key="inspect_samples").set_value(["digits/0.png"])
    at.run()
    settle(at)
    assert_clean(at)
    shown_text = texts(at.markdown)
    assert "The dataset's own image" in shown_text and "What the loader did" not in shown_text
    at.multiselect(key="inspect_samples").set_value([])
    at.file_uploader(key="inspect_upload").upload("0.png", (SAMPLES / "digits" / "0.png").read_bytes(), "image/png")
    at.run()
    settle(at)
    shown_text = texts(at.markdown)
    assert "What the loader did" in shown_text and "The dataset's own image" not in shown_text
