"""The Streamlit app through `streamlit.testing` (no browser): every page on the demo, uploads,
page switches, double clicks and refused paths (the helpers are in `helpers.app`)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers.app import (
    SAMPLES,
    assert_clean,
    assert_refused_and_demo_kept,
    choose_cifar_weights,
    image_captions,
    load_cifar_checkpoint,
    new_app,
    open_page,
    png_bytes,
    settle,
    texts,
)

from app_pages.shell.page_table import PAGES

# Each module scores into its own cache folder (a fresh start, and no sharing with other modules).
pytestmark = pytest.mark.usefixtures("private_score_cache")


@pytest.mark.parametrize("path,title", [(p.path, p.title) for p in PAGES])
def test_every_page_runs_on_the_demo_before_anything_is_scored(path, title):
    at = open_page(new_app(), path)
    assert_clean(at)
    assert at.title[0].value == (title if title != "Overview" else "GAIA Explorer")


@pytest.mark.parametrize("path,title", [(p.path, p.title) for p in PAGES])
def test_every_page_shows_its_results_once_scored(scored_app, path, title):
    at = open_page(scored_app, path)
    assert_clean(at)
    assert "Nothing is scored yet" not in texts(at.info)
    if path in ("app_pages/id_vs_ood.py", "app_pages/channels.py", "app_pages/how_it_works.py"):
        assert len(at.get("plotly_chart")) >= 2


def test_empty_pages_say_what_to_do_next():
    at = open_page(new_app(), "app_pages/misflagged.py")
    assert "press **Score**" in texts(at.info)
    assert at.button(key="misflagged_score") is not None


def test_id_vs_ood_reports_every_method_on_every_set(scored_app):
    at = open_page(scored_app, "app_pages/id_vs_ood.py")
    metrics = at.dataframe[0].value  # the first table on the page
    assert set(metrics.index) >= {"GAIA-A", "GAIA-Z", "MSP", "Energy", "ReAct"}
    assert metrics.loc["GAIA-A", "AUROC ↑"] > metrics.loc["MSP", "AUROC ↑"]
    assert "digits (450" in texts(at.success) and "letters (300)" in texts(at.success)


def test_inspect_scores_an_uploaded_image_and_names_a_bad_file_while_keeping_the_good_one():
    at = open_page(new_app(), "app_pages/inspect.py")
    good = (SAMPLES / "letters" / "3.png").read_bytes()
    uploader = at.file_uploader(key="inspect_upload")
    uploader.upload("my_letter.png", good, "image/png").upload("broken.png", b"GIF89a not really", "image/png")
    at.run()
    settle(at)
    assert not at.exception
    assert "broken.png" in texts(at.error) and len(at.error) == 1
    summary = at.dataframe(key="inspect_table").value
    assert "my_letter.png" in set(summary["image"])
    assert {"GAIA-A", "GAIA-Z", "MSP"} <= set(summary.columns)
    assert "flagged by" in summary.columns  # placed on the ID reference


def test_inspect_flags_noise_and_accepts_a_digit():
    at = open_page(new_app(), "app_pages/inspect.py")
    at.multiselect(key="inspect_samples").set_value(["digits/0.png", "noise/0.png"])
    at.run()
    settle(at)
    assert_clean(at)
    summary = at.dataframe(key="inspect_table").value.set_index("image")
    flags = summary["flagged by"].str.split(" of ").str[0].astype(int)
    assert flags["noise #0"] > flags["digits #0"]


def test_an_image_too_large_in_pixels_is_refused_with_a_message():
    at = open_page(new_app(), "app_pages/inspect.py")
    at.multiselect(key="inspect_samples").set_value([])
    big = np.zeros((8000, 8000, 3), np.uint8)  # 64 Mpx: over the pixel cap, a few KB as PNG
    at.file_uploader(key="inspect_upload").upload("huge.png", png_bytes(big), "image/png")
    at.run()
    assert not at.exception
    assert "huge.png" in texts(at.error)


def test_switching_pages_keeps_results_picks_and_uploads():
    at = open_page(new_app(), "app_pages/inspect.py")
    at.file_uploader(key="inspect_upload").upload("kept.png", (SAMPLES / "digits" / "2.png").read_bytes(), "image/png")
    at.run()
    settle(at)
    at = open_page(at, "app_pages/id_vs_ood.py")
    at.multiselect(key="ood_sets").set_value(["noise"])
    at.run()
    at.button(key="score_button").click()
    at.run()
    settle(at)
    assert "noise (300)" in texts(at.success)

    for path in ("app_pages/overview.py", "app_pages/channels.py", "app_pages/id_vs_ood.py"):
        at = open_page(at, path)
    assert at.multiselect(key="ood_sets").value == ["noise"]
    assert "noise (300)" in texts(at.success)  # shown again without pressing Score
    at = open_page(at, "app_pages/inspect.py")
    assert "kept.png" in set(at.dataframe(key="inspect_table").value["image"])


def test_a_second_click_on_score_does_not_start_the_work_twice():
    from app_pages.shell import job_progress

    at = open_page(new_app(), "app_pages/id_vs_ood.py")
    at.multiselect(key="ood_sets").set_value(["textures", "shifted"])
    at.multiselect(key="methods").set_value(["msp", "energy"])
    at.run()
    at.button(key="score_button").click()
    at.run()
    request = at.session_state["scoring"]
    first = job_progress.job_runner().get(request)
    at.button(key="score_button").click()
    at.run()
    assert job_progress.job_runner().get(request) is first
    settle(at)
    at.button(key="score_button").click()  # finished and successful: kept, not redone
    at.run()
    assert job_progress.job_runner().get(request) is first
    assert_clean(at)


def test_a_checkpoint_path_outside_the_allowed_folders_is_refused_and_the_model_stays():
    at = choose_cifar_weights("path")
    at.text_input(key="sb_ckpt_path").set_value("/etc/../etc/passwd")
    assert_refused_and_demo_kept(at, "refused")


class _RunsCode:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_checkpoint_upload_that_would_run_code_is_refused_and_the_model_stays(tmp_path):
    marker = tmp_path / "ran"
    buffer = io.BytesIO()
    torch.save({"state_dict": _RunsCode(marker)}, buffer)
    at = choose_cifar_weights("upload")
    at.file_uploader(key="sb_ckpt_upload").upload("weights.pth", buffer.getvalue(), "application/octet-stream")
    at.run()
    assert_refused_and_demo_kept(at, "Loading the model failed")
    assert not marker.exists()


def test_a_cifar_checkpoint_inside_the_allowed_folders_loads_and_missing_data_says_where_to_put_it(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("GAIA_ALLOWED_ROOTS", str(tmp_path))
    at = load_cifar_checkpoint(tmp_path)
    assert_clean(at)
    assert at.session_state["model_choice"].name == "cifar_resnet18"
    assert "In use: **cifar_resnet18 (r18.safetensors)" in texts(at.sidebar.caption)

    at = open_page(at, "app_pages/inspect.py")  # no CIFAR-10 on disk: scores without the ID reference
    at.file_uploader(key="inspect_upload").upload("cat.png", png_bytes(np.full((32, 32, 3), 90, np.uint8)), "image/png")
    at.run()
    settle(at)
    assert not at.exception
    assert "cifar-10-batches-py" in texts(at.error)  # what to put where
    assert "cat.png" in set(at.dataframe(key="inspect_table").value["image"])

    at = open_page(at, "app_pages/id_vs_ood.py")
    at.button(key="score_button").click()
    at.run()
    assert not at.exception
    assert "cifar-10-batches-py" in texts(at.error)


def test_pretrained_weights_missing_offline_say_which_file_goes_where_and_the_model_stays(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty torch hub cache: nothing to load, nothing fetched
    at = new_app()
    at.selectbox(key="sb_model").set_value("resnet18")
    at.run()
    assert at.radio(key="sb_weights").value == "pretrained"
    assert_refused_and_demo_kept(at, "resnet18-f37072fd.pth")
    assert str(tmp_path / "hub" / "checkpoints") in texts(at.sidebar.error)


def test_the_attribution_map_explains_the_predicted_class_or_the_one_picked():
    at = open_page(new_app(), "app_pages/inspect.py")
    at.multiselect(key="inspect_samples").set_value(["digits/0.png"])
    at.run()
    settle(at)
    predicted = at.dataframe(key="inspect_table").value["prediction"].iloc[0]
    assert f"Saliency for {predicted}" in image_captions(at)
    other = next(c for c in range(10) if str(c) != predicted)
    at.selectbox(key=f"inspect_detail_target_{predicted}").set_value(other)
    at.run()
    assert_clean(at)
    assert f"Saliency for {other}" in image_captions(at)
