"""The detail of Inspect images follows the image in focus, in a real browser: after another row is
selected, the "Explain class" box names that image's prediction, the one its map explains (it kept
the previous image's "predicted: …" until it was opened)."""

from __future__ import annotations

import re

from helpers.browser import (
    MARKS,
    assert_no_exception,
    open_page,
    screenshot,
    wait_for_text,
)

pytestmark = MARKS
ROW_HEIGHT = 35  # pixels of one row of Streamlit's data grid


def _explained(tab) -> tuple[str, str]:
    """The class the "Explain class" box names and the class the saliency map's caption names."""
    box = tab.locator("[data-testid='stSelectbox']").filter(has_text="Explain class").first
    named = re.fullmatch(r"predicted: (\S+)", box.locator("input").first.input_value())
    caption = re.search(r"Saliency for (\S+)", tab.locator("[data-testid='stMain']").inner_text())
    assert named and caption, "the detail shows the explain box and a captioned map"
    return named[1], caption[1]


def test_explain_class_box_follows_the_image_in_focus(page, app_url):
    open_page(page, app_url, "inspect")  # the demo's default picks: digits #0, then letters #1
    wait_for_text(page, "Detail: digits #0", timeout_s=300)
    wait_for_text(page, "Saliency for")
    first_box, first_map = _explained(page)
    assert first_box == first_map
    grid = page.locator("[data-testid='stDataFrame']").first.bounding_box()
    page.mouse.click(grid["x"] + 15, grid["y"] + 52 + ROW_HEIGHT)  # the second row's selection box
    wait_for_text(page, "Detail: letters #1", timeout_s=60)
    wait_for_text(page, "Saliency for")
    assert_no_exception(page)
    screenshot(page, "inspect_second_row_focused")
    second_box, second_map = _explained(page)
    assert second_box == second_map, "the box names the class the map explains"
    assert second_box != first_box, "the two default samples are predicted differently, so the box changed"
