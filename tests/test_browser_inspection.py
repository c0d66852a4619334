"""Issue 22, the inspection side, where only a browser shows it, at a projector's 1024×768: the
report keeps a left margin and switches its galleries to the method picked in its own select (plain
JS, no network); the tables of Inspect images, Misflagged samples, Channel abnormality and Layer lab
fit without a sideways scroll; chart tick labels are at least 12 px. Screenshots go to
test-artifacts/inspection_*.png."""

from __future__ import annotations

import re
import time

import pytest
from helpers.browser import (
    ARTIFACTS,
    MARKS,
    assert_no_exception,
    score_on_id_vs_ood,
    wait_idle,
)

from gaia_core.cli import main

pytestmark = MARKS

PROJECTOR = {"width": 1024, "height": 768}

# Every table's grid on the page: how wide its columns are against how wide it is shown.
_TABLE_WIDTHS = """() => [...document.querySelectorAll('[data-testid=stMain] [data-testid=stDataFrame] .dvn-scroller')]
  .map(e => ({scrollWidth: e.scrollWidth, clientWidth: e.clientWidth}))"""
# The rendered size of every chart's tick labels, in px.
_TICK_SIZES = """() => [...document.querySelectorAll('[data-testid=stPlotlyChart] .xtick text, [data-testid=stPlotlyChart] .ytick text')]
  .map(t => parseFloat(getComputedStyle(t).fontSize))"""


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "report.html"
    argv = ["evaluate", "--model", "demo", "--ood", "letters", "noise", "--methods", "gaia_a", "gaia_z", "msp"]
    assert main([*argv, "--limit", "30", "--no-progress", "--no-cache", "--html", str(path)]) == 0
    return path


def test_the_report_keeps_a_margin_at_1024_px_and_its_select_ranks_the_galleries_offline(browser, report):
    context = browser.new_context(viewport=PROJECTOR)
    fetched = []
    context.route(
        re.compile(r"^(?!file:|data:|blob:).*"), lambda route: (fetched.append(route.request.url), route.abort())
    )
    page = context.new_page()
    try:
        page.goto(report.as_uri())
        page.wait_for_function("document.querySelectorAll('.plotly-graph-div .main-svg').length >= 4", timeout=30_000)
        assert page.locator("h1").bounding_box()["x"] >= 24, "the title touches the window's edge"
        assert page.locator("table.about").is_visible()
        shown = "[...document.querySelectorAll('.ranked')].filter(b => !b.hidden).map(b => b.dataset.method)"
        assert page.evaluate(shown) == ["gaia_a"]
        page.select_option("#gallery-method", "msp")
        assert page.evaluate(shown) == ["msp"]
        pictures = page.locator(".ranked[data-method='msp'] img")
        assert pictures.count() == 3 * 2 * 6
        assert page.evaluate(
            "[...document.querySelectorAll(\".ranked[data-method='msp'] img\")]"
            ".every(i => i.complete && i.naturalWidth > 0)"
        )
        assert page.evaluate("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
        assert fetched == []
        page.screenshot(path=str(ARTIFACTS / "inspection_report_1024x768.png"), full_page=True)
    finally:
        context.close()


def _assert_tables_fit(page, name: str) -> None:
    wait_idle(page)
    page.locator("[data-testid='stDataFrame']").first.wait_for(timeout=60_000)
    time.sleep(1)  # the grids lay their columns out after they are shown
    widths = page.evaluate(_TABLE_WIDTHS)
    assert widths, f"{name}: no table"
    assert all(w["scrollWidth"] <= w["clientWidth"] + 1 for w in widths), (name, widths)
    page.screenshot(path=str(ARTIFACTS / f"inspection_{name}_1024x768.png"), full_page=True)
    assert_no_exception(page)


def test_the_inspection_tables_fit_1024_px_and_ticks_read_at_12_px(page, app_url):
    page.set_viewport_size(PROJECTOR)
    score_on_id_vs_ood(page, app_url, 40)
    sizes = page.evaluate(_TICK_SIZES)
    assert sizes and min(sizes) >= 12, sorted(set(sizes))
    for title, name in (
        ("Misflagged samples", "misflagged"),
        ("Channel abnormality", "channels"),
        ("Layer lab", "layer_lab"),
        ("Inspect images", "inspect"),
    ):
        # Through the sidebar, in the session that scored (a new page load would start a new one).
        page.locator("[data-testid='stSidebarNav']").get_by_role("link", name=title).click()
        wait_idle(page)
        page.get_by_role("heading", name=title).first.wait_for(timeout=30_000)
        if name == "layer_lab":
            page.get_by_role("button", name="Search the best subset").click()
            wait_idle(page)
        _assert_tables_fit(page, name)
        sizes = page.evaluate(_TICK_SIZES)
        assert not sizes or min(sizes) >= 12, (name, sorted(set(sizes)))
