"""The teaching screen, in a real browser at a projector's 1024x768: what only a browser shows of
issue 22 items 11 and 17 (tick labels, one-line captions, large maps, horizontal layer labels, no
Deploy button, the canvas toolbar off the drawing instructions). Screenshots: test-artifacts/class_*.png.
Everything AppTest can check is in test_app_class.py."""

from __future__ import annotations

import time

import pytest
from helpers.browser import MARKS, assert_no_exception, open_page, screenshot, wait_for_text, wait_idle

pytestmark = MARKS
TEACHING_SCREEN = {"width": 1024, "height": 768}

# Every tick label of every plotly chart on the page: its text and computed font size in px.
_TICKS = """() => [...document.querySelectorAll('.xtick text, .ytick text')].map(t => ({
    text: t.textContent, size: parseFloat(getComputedStyle(t).fontSize),
    rotated: (t.getAttribute('transform') || '').includes('rotate')}))"""
# Image captions: text, height and line height in px (one line when the height is under 1.6 lines).
_CAPTIONS = """() => [...document.querySelectorAll('[data-testid=stImageCaption]')].map(c => ({
    text: c.innerText, height: c.getBoundingClientRect().height,
    line: parseFloat(getComputedStyle(c).lineHeight) || 1.4 * parseFloat(getComputedStyle(c).fontSize)}))"""


@pytest.fixture
def screen(browser):
    context = browser.new_context(viewport=TEACHING_SCREEN)
    tab = context.new_page()
    yield tab
    context.close()


def _charts_drawn(tab, at_least: int, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while tab.locator("[data-testid='stPlotlyChart'] .main-svg").count() < at_least:
        assert time.monotonic() < deadline, f"fewer than {at_least} charts were drawn"
        time.sleep(1)
    wait_idle(tab, 300)


def _full_page(tab) -> None:
    """Grow the viewport to the main area's height so every element renders (it scrolls inside itself)."""
    full = tab.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
    tab.set_viewport_size({"width": TEACHING_SCREEN["width"], "height": min(full + 40, 9000)})
    time.sleep(1.5)


def _one_line_captions(tab) -> list[str]:
    return [c["text"] for c in tab.evaluate(_CAPTIONS) if c["height"] > 1.6 * c["line"]]


def test_how_gaia_works_reads_from_the_back_row(screen, app_url):
    open_page(screen, app_url, "how_it_works")
    _charts_drawn(screen, 6)
    _full_page(screen)
    assert_no_exception(screen)
    screenshot(screen, "class_how_it_works_1024")
    small = [t for t in screen.evaluate(_TICKS) if t["size"] < 12]
    assert not small, small[:5]
    assert not _one_line_captions(screen)
    widths = screen.evaluate(
        "() => [...document.querySelectorAll('[data-testid=stImage] img')].map(i => i.getBoundingClientRect().width)"
    )
    assert sum(w >= 240 for w in widths) >= 2  # the two input images of step 1 (and step 7's maps)
    assert screen.locator("[data-testid='stAppDeployButton']").count() == 0
    assert screen.get_by_role("button", name="Deploy").count() == 0


def test_what_if_layer_labels_are_horizontal_and_the_canvas_toolbar_leaves_the_instructions_readable(screen, app_url):
    open_page(screen, app_url, "what_if")
    _charts_drawn(screen, 4)
    _full_page(screen)
    layer_ticks = [t for t in screen.evaluate(_TICKS) if t["text"].startswith(("bn1", "layer"))]
    assert layer_ticks and not any(t["rotated"] for t in layer_ticks)
    assert not [t for t in screen.evaluate(_TICKS) if t["size"] < 12]
    assert not _one_line_captions(screen)
    screenshot(screen, "class_what_if_1024")

    screen.set_viewport_size(TEACHING_SCREEN)
    screen.get_by_text("A drawing").first.click()
    wait_for_text(screen, "Draw a digit, a letter or a scribble")
    instructions = screen.get_by_text("Draw a digit, a letter or a scribble").first
    canvas = screen.locator("canvas").last
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    screen.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    time.sleep(1)  # the toolbar fades in
    toolbar = screen.locator(".dc-toolbar-card").first.bounding_box()
    text = instructions.bounding_box()
    screenshot(screen, "class_what_if_canvas_hover_1024")
    assert toolbar is not None and text is not None
    assert toolbar["y"] >= text["y"] + text["height"] or toolbar["y"] + toolbar["height"] <= text["y"], (toolbar, text)
