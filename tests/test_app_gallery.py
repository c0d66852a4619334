"""Galleries page through all their images (issue 14): "Showing 24 of 35" had no way to the rest."""

import pytest
from helpers.app import assert_clean, image_captions, new_app, open_page, settle, texts

# Each module scores into its own cache folder (a fresh start, and no sharing with other modules).
pytestmark = pytest.mark.usefixtures("private_score_cache")


def _next_button(at):
    return next((b for b in at.button if b.key and b.key.endswith("_gallery_next")), None)


def test_a_gallery_of_more_than_one_page_shows_the_next_pages_images_and_starts_afresh_on_new_rows():
    at = open_page(new_app(), "app_pages/id_vs_ood.py")
    at.number_input(key="max_per_set").set_value(100).run()
    at.button(key="score_button").click().run()
    settle(at, timeout_s=300)
    assert "Scored" in texts(at.success)
    at = open_page(at, "app_pages/misflagged.py")
    at.slider(key="mis_tpr").set_value(0.8).run()
    assert_clean(at)
    forward = _next_button(at)
    assert forward is not None, "a misflagged list longer than one page has a pager"
    key = forward.key.removesuffix("_next")
    assert "(page 1 of" in texts(at.caption)
    first_page = image_captions(at)
    forward.click().run()
    assert_clean(at)
    assert at.session_state[f"{key}_page"] == 1
    assert "Images 13–" in texts(at.caption) and "(page 2 of" in texts(at.caption)
    assert image_captions(at) != first_page
    at.slider(key="mis_tpr").set_value(0.85).run()  # other rows: the gallery starts at its first page
    assert at.session_state[f"{key}_page"] == 0
