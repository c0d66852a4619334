"""What if? in a real browser: draw a digit on the canvas with the mouse, move the strength slider,
see the curves. Screenshots go to test-artifacts/ (whatif_*.png)."""

from __future__ import annotations

import time

from helpers.browser import (
    MARKS,
    assert_no_exception,
    draw_strokes,
    open_page,
    screenshot,
    wait_for_text,
    wait_idle,
)

pytestmark = MARKS

THREE = [[(0.3, 0.2), (0.7, 0.2), (0.7, 0.5)], [(0.4, 0.5), (0.7, 0.5), (0.7, 0.8), (0.3, 0.8)]]


def test_draw_on_the_canvas_then_move_the_slider(page, app_url):
    open_page(page, app_url, "what_if")
    assert_no_exception(page)
    page.get_by_text("A drawing").first.click()
    wait_idle(page)
    draw_strokes(page, THREE)
    time.sleep(2)
    screenshot(page, "whatif_after_drawing")
    wait_for_text(page, "Flagged as OOD by", timeout_s=300)
    assert_no_exception(page)
    screenshot(page, "whatif_drawn")
    track = page.locator("[data-testid='stSlider']").first
    track.scroll_into_view_if_needed()
    box = track.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 4, box["y"] + box["height"] * 0.75)  # the thumb at strength 0 takes focus
    wait_idle(page)
    for _ in range(14):
        page.keyboard.press("ArrowRight")
    wait_idle(page)
    wait_for_text(page, "strength 0.70")
    assert_no_exception(page)
    screenshot(page, "whatif_slider")
