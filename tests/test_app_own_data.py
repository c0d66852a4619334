"""A visitor's own images in the app, on a server with ``GAIA_ALLOWED_ROOTS`` set (issue 21 items
2-4, issue 24 item 9): the default data root is a folder they may use, refusals say which folders
those are, the demo's sets score whatever the data root, folders under the data root are listed to
pick (titled apart, their labelling said), relative paths start at the data root, and nothing is
listed until the visitor asks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers.app import SAMPLES, assert_clean, new_app, open_page, settle, shown, texts

from app_pages.shell import set_choices
from gaia_core.safety.paths import ENV_VAR

pytestmark = pytest.mark.usefixtures("private_score_cache")


def _images(folder: Path, count: int = 4, kind: str = "letters") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(count):
        shutil.copy(SAMPLES / kind / f"{k}.png", folder / f"{k}.png")
    return folder


def _score(at, ood_sets: list[str] | None = None, methods=("msp", "gaia_a")):
    at = open_page(at, "app_pages/id_vs_ood.py")
    if ood_sets is not None:
        at.multiselect(key="ood_sets").set_value(ood_sets)
    at.multiselect(key="methods").set_value(list(methods))
    at.run()
    at.button(key="score_button").click()
    at.run()
    return settle(at)


@pytest.fixture
def allowed(tmp_path, monkeypatch):
    """A server whose allowed folders are one folder, started in another (``data/`` is not allowed)."""
    folder = tmp_path / "shared"
    folder.mkdir()
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    monkeypatch.setenv(ENV_VAR, str(folder))
    return folder


def test_the_default_data_root_is_an_allowed_folder_and_the_demos_default_scoring_works(allowed):
    at = new_app()
    assert at.text_input(key="data_root").value == str(allowed.resolve())
    at.session_state["max_per_set"] = 20
    at = open_page(at, "app_pages/how_it_works.py")  # its second example is the demo's textures
    assert_clean(at)
    at = _score(at)  # the demo's default picks: digits against every demo OOD set, textures among them
    assert_clean(at)
    assert "textures (20)" in shown(texts(at.success))


def test_the_demos_sets_score_whatever_the_data_root_and_a_refused_root_lists_the_allowed_folders(allowed):
    at = new_app()
    at.session_state["max_per_set"] = 20
    at.text_input(key="data_root").set_value("/")
    at.run()
    refusal = texts(at.sidebar.error)
    assert str(allowed.resolve()) in refusal and ENV_VAR not in refusal  # what the visitor may use
    at = _score(at, ["textures", "letters"])
    assert not at.exception and not at.main.error, texts(at.main.error)
    assert "textures (20)" in shown(texts(at.success))


def test_an_absolute_folder_inside_the_allowed_folders_scores_under_the_default_data_root(allowed):
    mine = _images(allowed / "mine")
    at = new_app()
    at.session_state["max_per_set"] = 20
    at.text_area(key="extra_folders").set_value(str(mine))
    at.run()
    at = _score(at, [str(mine.resolve())])
    assert_clean(at)
    assert "mine (4)" in shown(texts(at.success))


def test_folders_under_the_data_root_are_picked_from_a_list_titled_apart_and_their_labels_said(allowed):
    _images(allowed / "a" / "test" / "cat", 2, "digits")
    _images(allowed / "a" / "test" / "dog", 2, "digits")
    _images(allowed / "b" / "test", 3)
    at = new_app()
    at.session_state["max_per_set"] = 20
    at.toggle(key="sb_browse").set_value(True)
    at.run()
    picker = at.multiselect(key="picked_folders")
    assert picker.options == ["a/test · 2 classes (its sub-folders: cat, dog)", "b/test · unlabelled, 3 images"]
    assert "each sub-folder is a class" in texts(at.sidebar.caption)
    folders = [str((allowed / name / "test").resolve()) for name in ("a", "b")]
    picker.set_value(folders)
    at.run()
    at = open_page(at, "app_pages/id_vs_ood.py")
    assert {"a/test", "b/test"} <= set(at.multiselect(key="ood_sets").options)  # titled apart
    at = _score(at, folders)
    assert_clean(at)
    success = shown(texts(at.success))
    assert "a/test (4)" in success and "b/test (3)" in success  # two sets, not one "test"


def test_a_relative_extra_folder_starts_at_the_data_root_not_the_servers_folder(allowed, tmp_path):
    _images(allowed / "photos", 3)
    _images(tmp_path / "cwd" / "photos", 1)  # the same name where the server was started
    at = new_app()
    at.session_state["max_per_set"] = 20
    at.text_area(key="extra_folders").set_value("photos")
    at.run()
    assert not at.sidebar.error
    at = _score(at, [str((allowed / "photos").resolve())])
    assert_clean(at)
    assert "photos (3)" in shown(texts(at.success))


def test_nothing_is_listed_until_the_visitor_asks(allowed, monkeypatch):
    listed = []
    real = set_choices.image_folders
    monkeypatch.setattr(set_choices, "image_folders", lambda *a, **k: listed.append(a) or real(*a, **k))
    _images(allowed / "photos", 2)
    at = new_app()
    for page in ("app_pages/id_vs_ood.py", "app_pages/overview.py"):
        at = open_page(at, page)
    assert listed == []
    at.toggle(key="sb_browse").set_value(True)
    at.run()
    assert len(listed) == 1
