"""Issue 14 ("Hard to read") in a real browser, at a projector's 1024×768 and at 1400×900: on every
page with charts, no legend covers its chart's title, no two labels of a chart overlap (nor a label
and the legend), and the sidebar's model names are not cut off. Screenshots go to
test-artifacts/layout_*.png."""

from __future__ import annotations

import time

import pytest
from helpers.browser import (
    ARTIFACTS,
    MARKS,
    assert_no_exception,
    open_page,
    score_on_id_vs_ood,
    wait_for_text,
    wait_idle,
)

pytestmark = MARKS

VIEWPORTS = {"1024x768": (1024, 768), "1400x900": (1400, 900)}

# Per chart: the boxes of its title, its legend and each label (null when not drawn).
_CHART_BOXES = """() => [...document.querySelectorAll('[data-testid=stPlotlyChart]')].map(chart => {
  const box = e => {
    if (!e) return null;
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.height > 0 ? [r.left, r.top, r.right, r.bottom] : null;
  };
  return {
    title: (chart.querySelector('.gtitle') || {}).textContent || '',
    title_box: box(chart.querySelector('.gtitle')),
    legend_box: box(chart.querySelector('.legend')),
    labels: [...chart.querySelectorAll('.annotation')]
      .map(a => ({text: a.textContent, box: box(a)}))
      .filter(a => a.box && a.text.trim()),
  };
})"""

# The sidebar's selects whose text is wider than the box that shows it.
_CLIPPED_SIDEBAR_NAMES = """() => [...document.querySelectorAll(
    '[data-testid=stSidebar] [data-testid=stSelectbox] input')]
  .filter(e => e.scrollWidth > e.clientWidth + 1)
  .map(e => `${e.getAttribute('aria-label')}: '${e.value}' needs ${e.scrollWidth} px, has ${e.clientWidth}`)"""


# Names cut short in the main area: a select's text ("All OOD sets toge"), or a multiselect's chip
# ("Synthetic t…").
_CLIPPED_SET_NAMES = """() => [...document.querySelectorAll(
    '[data-testid=stMain] [data-testid=stSelectbox] input, [data-testid=stMain] [data-testid=stMultiSelect] span[title]')]
  .filter(e => e.scrollWidth > e.clientWidth + 1)
  .map(e => `'${e.value || e.textContent}' needs ${e.scrollWidth} px, has ${e.clientWidth}`)"""


# Inspect's tables after the first (the list of images, wide by design): the detail's verdict table
# (method, score, ID percentile, threshold, flagged) must not scroll its threshold and flag out of sight.
_SCROLLED_DETAIL_TABLES = """() => [...document.querySelectorAll('[data-testid=stDataFrame] .dvn-scroller')].slice(1)
  .filter(e => e.scrollWidth > e.clientWidth + 1)
  .map(e => `a detail table needs ${e.scrollWidth} px, has ${e.clientWidth}`)"""


# Diagrams drawn smaller than their natural size (graphviz: 1 pt = 4/3 px), i.e. with shrunk text.
_SHRUNK_DIAGRAMS = """() => [...document.querySelectorAll('[data-testid=stGraphVizChart] svg')]
  .map(s => s.getBoundingClientRect().width / (s.viewBox.baseVal.width * 4 / 3))
  .filter(scale => scale < 0.9)
  .map(scale => `a diagram drawn at ${Math.round(100 * scale)}% of its size`)"""


def _overlap(a, b, slack: float = 1.0) -> bool:
    return a[0] < b[2] - slack and b[0] < a[2] - slack and a[1] < b[3] - slack and b[1] < a[3] - slack


def _defects(page, where: str) -> list[str]:
    """What is unreadable in the page's charts: a legend over a title, labels on top of each other
    or of the legend."""
    time.sleep(1.5)  # plotly draws after the script is done
    found = []
    for chart in page.evaluate(_CHART_BOXES):
        name = f"{where}: chart '{chart['title'][:60]}'"
        legend = chart["legend_box"]
        if legend and chart["title_box"] and _overlap(legend, chart["title_box"]):
            found.append(f"{name}: the legend covers the title")
        labels = chart["labels"]
        for i, first in enumerate(labels):
            for second in labels[i + 1 :]:
                if _overlap(first["box"], second["box"]):
                    found.append(f"{name}: labels '{first['text']}' and '{second['text']}' overlap")
            if legend and _overlap(first["box"], legend):
                found.append(f"{name}: label '{first['text']}' covers the legend")
    return found


def _go(page, link: str) -> None:
    """Open a page through the sidebar (the session, with its scores, stays)."""
    page.locator("[data-testid='stSidebarNav']").get_by_role("link", name=link, exact=True).click()
    time.sleep(0.5)
    wait_idle(page, 300)
    page.get_by_role("heading", name=link).first.wait_for(timeout=60_000)


def _charts(page, at_least: int, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while page.locator("[data-testid='stPlotlyChart'] .main-svg").count() < at_least:
        assert time.monotonic() < deadline, f"fewer than {at_least} charts were drawn"
        time.sleep(1)
    wait_idle(page, 300)


def _shot(page, name: str) -> None:
    """The whole page: the viewport grown to the main area's height (it scrolls inside itself)."""
    width, height = page.viewport_size["width"], page.viewport_size["height"]
    full = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": width, "height": max(height, min(full + 40, 9000))})
    time.sleep(1.5)
    page.screenshot(path=str(ARTIFACTS / f"layout_{name}.png"), full_page=True)
    page.set_viewport_size({"width": width, "height": height})
    time.sleep(0.5)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_legends_labels_and_sidebar_names_stay_readable_on_every_page(browser, app_url, viewport):
    width, height = VIEWPORTS[viewport]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    defects: list[str] = []
    try:
        open_page(page, app_url, "")
        clipped = page.evaluate(_CLIPPED_SIDEBAR_NAMES)
        assert page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox'] input").count() >= 1
        defects += [f"sidebar at {viewport}: {c}" for c in clipped]
        assert page.locator("[data-testid=stGraphVizChart] svg").count() == 1
        defects += [f"Overview at {viewport}: {c}" for c in page.evaluate(_SHRUNK_DIAGRAMS)]
        _shot(page, f"overview_{viewport}")

        score_on_id_vs_ood(page, app_url, 40, timeout_s=300)
        _charts(page, 2)
        defects += [f"ID vs OOD at {viewport}: {c}" for c in page.evaluate(_CLIPPED_SET_NAMES)]
        defects += _defects(page, f"ID vs OOD at {viewport}")
        _shot(page, f"id_vs_ood_{viewport}")

        _go(page, "Inspect images")
        wait_for_text(page, "Place on the ID distribution", timeout_s=300)
        _charts(page, 3)
        defects += _defects(page, f"Inspect images at {viewport}")
        assert page.locator("[data-testid=stDataFrame] .dvn-scroller").count() == 2  # images, verdicts
        defects += [f"Inspect images at {viewport}: {c}" for c in page.evaluate(_SCROLLED_DETAIL_TABLES)]
        defects += [f"Inspect images at {viewport}: {c}" for c in page.evaluate(_CLIPPED_SET_NAMES)]
        _shot(page, f"inspect_{viewport}")

        _go(page, "Misflagged samples")
        grid = page.locator("[data-testid='stDataFrame']").first
        grid.scroll_into_view_if_needed()
        box = grid.bounding_box()
        page.mouse.click(box["x"] + 15, box["y"] + 52)  # the first row's selection box
        wait_for_text(page, "Flagged as OOD by", timeout_s=120)
        _charts(page, 3)
        defects += _defects(page, f"Misflagged samples at {viewport}")
        _shot(page, f"misflagged_{viewport}")

        for link, name, charts in (
            ("Channel abnormality", "channels", 3),
            ("Layer lab", "layer_lab", 1),
            ("How GAIA works", "how_it_works", 6),
            ("What if?", "what_if", 3),
        ):
            _go(page, link)
            _charts(page, charts)
            defects += _defects(page, f"{link} at {viewport}")
            defects += [f"{link} at {viewport}: {c}" for c in page.evaluate(_CLIPPED_SET_NAMES)]
            _shot(page, f"{name}_{viewport}")
        assert_no_exception(page)
    finally:
        context.close()
    assert not defects, "\n".join(defects)
