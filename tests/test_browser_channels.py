"""Issue 14 in a real browser, on the Channel abnormality page: the channel ranking table shows its
columns without a horizontal scroll at 1400 and at 1024 px (the derived ones under Show/hide columns), and the per-image channel scatter opens in
box selection, so a drag across its points shows their images (not a zoom)."""

from __future__ import annotations

import time

from helpers.browser import (
    ARTIFACTS,
    MARKS,
    assert_no_exception,
    score_on_id_vs_ood,
    screenshot,
    wait_for_text,
    wait_idle,
)

pytestmark = MARKS

GALLERY = "selected image(s)"
SIZES = ((1400, 900), (1024, 768))


def _score_then_open_channels(page, app_url) -> None:
    score_on_id_vs_ood(page, app_url, 40)
    page.locator("[data-testid='stSidebarNav']").get_by_role("link", name="Channel abnormality").click()
    wait_idle(page)
    page.get_by_role("heading", name="Channel abnormality").first.wait_for(timeout=30_000)
    page.locator("[data-testid='stDataFrame']").first.wait_for(timeout=60_000)
    assert_no_exception(page)


def _ranking_overflow(page) -> dict:
    """The ranking grid's scroller: how wide its columns are against how wide it is shown."""
    grid = page.locator("[data-testid='stDataFrame']").first
    grid.scroll_into_view_if_needed()
    time.sleep(1)  # the grid lays its columns out after it is shown
    return grid.locator(".dvn-scroller").first.evaluate(
        "el => ({scrollWidth: el.scrollWidth, clientWidth: el.clientWidth})"
    )


def test_the_channel_ranking_table_shows_every_column_at_1400_and_1024_px(page, app_url):
    _score_then_open_channels(page, app_url)
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        wait_idle(page)
        size = _ranking_overflow(page)
        assert size["scrollWidth"] <= size["clientWidth"] + 1, (width, size)
        page.screenshot(path=str(ARTIFACTS / f"channels_ranking_{width}x{height}.png"))  # the table in view
        for name, element in (
            ("top", page.get_by_role("heading", name="Channel abnormality").first),
            ("scatter", page.locator("[data-testid='stPlotlyChart']").last),
        ):
            element.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / f"channels_{name}_{width}x{height}.png"))
    # The derived columns left out at first are a click away.
    grid = page.locator("[data-testid='stDataFrame']").first
    grid.hover()
    page.get_by_role("button", name="Show/hide columns").click()
    menu = page.get_by_text("|AUROC − 50%|")  # issue 22 item 15: AUROC in percent on every page
    menu.first.wait_for(timeout=10_000)
    page.screenshot(path=str(ARTIFACTS / "channels_ranking_columns_menu.png"))
    assert_no_exception(page)


def _dragmode(chart) -> str:
    return chart.locator(".js-plotly-plot").evaluate("el => el._fullLayout.dragmode")


def test_a_drag_across_the_channel_scatter_shows_the_selected_images(page, app_url):
    _score_then_open_channels(page, app_url)
    chart = page.locator("[data-testid='stPlotlyChart']").last
    chart.scroll_into_view_if_needed()
    time.sleep(1)  # let the chart settle where it scrolled to
    assert _dragmode(chart) == "select"
    assert page.get_by_text(GALLERY).count() == 0
    # A drag round the ID set's points (the first box), from its left to its right, top to bottom.
    plot = chart.locator(".nsewdrag").first.bounding_box()
    boxes = chart.locator(".boxlayer .trace").first.bounding_box()
    page.mouse.move(boxes["x"] - 5, plot["y"] + 5)
    page.mouse.down()
    page.mouse.move(boxes["x"] + boxes["width"] + 5, plot["y"] + plot["height"] - 5, steps=12)
    page.mouse.up()
    wait_for_text(page, GALLERY, timeout_s=60)
    assert page.locator("[data-testid='stMain'] [data-testid='stImage']").count() >= 1
    assert_no_exception(page)
    screenshot(page, "channels_scatter_drag")
