"""Hostile inputs to the app through `streamlit.testing` (issue 24): malformed checkpoints, names
written as Markdown, paths too long for the system. Each is refused or shown literally where it
was given; the previous model stays in use and every page still runs."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from helpers.app import (
    SAMPLES,
    assert_clean,
    assert_refused_and_demo_kept,
    choose_cifar_weights,
    markdown_sources,
    new_app,
    open_page,
    settle,
    shown,
    texts,
)

from app_pages.shell.page_table import PAGES
from gaia_core.safety.paths import ENV_VAR

pytestmark = pytest.mark.usefixtures("private_score_cache")
HOSTILE_FOLDER = "![h](https://some.host/)x_*y*"
UNESCAPED_LINK = re.compile(r"(?<!\\)\]\(")  # "](" not made literal by a backslash


def _image_folder(folder: Path, count: int = 6) -> Path:
    """A folder of ``count`` of the demo's images and one file that only pretends to be a PNG."""
    folder.mkdir(parents=True)
    for k in range(count):
        shutil.copy(SAMPLES / "letters" / f"{k}.png", folder / f"{k}.png")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    return folder


@pytest.mark.parametrize(
    "name,content",
    [("empty.safetensors", b""), ("notes.pt", b"not a checkpoint, just some text\n" * 40)],
    ids=["0-byte safetensors", "text named .pt"],
)
def test_a_malformed_checkpoint_upload_is_an_error_box_in_the_sidebar_and_the_demo_stays(name, content):
    at = choose_cifar_weights("upload")
    at.file_uploader(key="sb_ckpt_upload").upload(name, content, "application/octet-stream")
    at.run()
    assert_refused_and_demo_kept(at, "Loading the model failed")
    assert len(at.sidebar.error) == 1 and not at.main.error
    assert at.title[0].value == "GAIA Explorer"  # the page ran under the sidebar's error


def test_a_5000_character_checkpoint_path_is_refused_in_place_and_the_demo_stays(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    at = choose_cifar_weights("path")
    at.text_input(key="sb_ckpt_path").set_value(str(tmp_path / ("a" * 5000)) + ".safetensors")
    assert_refused_and_demo_kept(at, "Checkpoint path refused")
    assert len(at.sidebar.error) == 1 and len(at.sidebar.error[0].value) < 1000  # a message, not the path


def test_a_5000_character_extra_folder_refuses_that_line_only_and_every_page_still_runs(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    mine = _image_folder(tmp_path / "mine")
    at = new_app()
    at.session_state["max_per_set"] = 60
    at.text_area(key="extra_folders").set_value(f"{tmp_path / ('a' * 5000)}\n{mine}")
    at.run()
    for page in PAGES:
        at = open_page(at, page.path)
        assert not at.exception, (page.title, [e.value for e in at.exception])
        assert not at.main.error, (page.title, texts(at.main.error))
        assert len(at.sidebar.error) == 1 and "refused" in texts(at.sidebar.error)
    at = open_page(at, "app_pages/id_vs_ood.py")
    assert mine.name in at.multiselect(key="ood_sets").options  # the good line is a set to pick
    at.text_area(key="extra_folders").set_value(str(mine))
    at.run()
    assert_clean(at)  # the refusal goes with its line


def test_a_folder_named_as_markdown_is_shown_literally_on_every_page(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    typed = f"{tmp_path}/{HOSTILE_FOLDER}"
    folder = _image_folder(Path(typed))
    at = new_app()
    at.session_state["max_per_set"] = 60
    at.session_state["data_root"] = str(tmp_path)  # inside the allowed folders
    at.text_area(key="extra_folders").set_value(typed)
    at.run()
    at = open_page(at, "app_pages/id_vs_ood.py")
    at.multiselect(key="ood_sets").set_value([str(folder.resolve())])
    at.multiselect(key="methods").set_value(["gaia_a", "gaia_z", "msp"])
    at.run()
    at.button(key="score_button").click()
    at.run()
    settle(at)
    assert not at.exception, [e.value for e in at.exception]
    success = shown(texts(at.success))
    assert "Scored" in success and f"{folder.name} (6)" in success  # the set's literal name
    assert f"{HOSTILE_FOLDER.replace('//', '/')}/broken.png" in shown(texts(at.warning))  # the skipped file's path
    for page in PAGES:
        at = open_page(at, page.path)
        assert not at.exception, (page.title, [e.value for e in at.exception])
        sources = markdown_sources(at)
        assert sources, page.title
        for source in sources:
            assert not UNESCAPED_LINK.search(source), (page.title, source)
            assert "x_*y*" not in source, (page.title, source)  # no emphasis made of the name


def test_an_ood_set_with_no_readable_file_is_reported_and_the_readable_sets_keep_their_results(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    broken = tmp_path / "all_broken"
    broken.mkdir()
    for k in range(3):
        (broken / f"{k}.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    at = new_app()
    at.session_state["max_per_set"] = 40
    at.session_state["data_root"] = str(tmp_path)
    at.text_area(key="extra_folders").set_value(str(broken))
    at.run()
    at = open_page(at, "app_pages/id_vs_ood.py")
    at.multiselect(key="ood_sets").set_value(["letters", str(broken.resolve()), "noise"])
    at.multiselect(key="methods").set_value(["gaia_z", "msp"])
    at.run()
    at.button(key="score_button").click()
    at.run()
    settle(at)
    assert not at.exception and not at.main.error, [e.value for e in at.main.error]
    success = shown(texts(at.success))
    assert "Scored" in success and "letters (40)" in success and "noise (40)" in success
    assert "all_broken was not scored" in shown(texts(at.warning))
