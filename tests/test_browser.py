"""The app in a real browser: Debian's Chromium driven by Playwright (no browser download).

Starts `streamlit run app.py` on a free local port with a fresh score cache, opens every page,
uploads an image, reads its scores, scores ID vs OOD, selects a histogram bar and sees the
images behind it. Screenshots go to test-artifacts/ (kept by CI as artifacts).
"""

from __future__ import annotations

import pytest
from helpers.browser import (
    MARKS,
    PAGES,
    ROOT,
    assert_no_exception,
    open_page,
    screenshot,
    select_tallest_bar,
    wait_for_text,
    wait_idle,
)

pytestmark = MARKS


@pytest.mark.parametrize("path", list(PAGES))
def test_every_page_opens_in_a_real_browser(page, app_url, path):
    open_page(page, app_url, path)
    page.get_by_role("heading", name=PAGES[path]).first.wait_for(timeout=30_000)
    assert_no_exception(page)
    assert page.locator("[data-testid='stSidebar']").get_by_text("In use:").count() == 1
    screenshot(page, f"page_{path or 'overview'}")


def test_an_uploaded_image_gets_its_scores_and_a_bad_file_its_own_message(page, app_url, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    open_page(page, app_url, "inspect")
    page.locator("[data-testid='stFileUploaderDropzoneInput']").first.set_input_files(
        [str(ROOT / "assets" / "samples" / "noise" / "1.png"), str(broken)]
    )
    wait_for_text(page, "Detail: 1.png")  # the first row: uploads come before picked samples
    wait_for_text(page, "Flagged as OOD by")
    alerts = page.locator("[data-testid='stAlertContentError']")
    assert alerts.count() == 1 and "broken.png" in alerts.first.inner_text()
    assert_no_exception(page)
    assert page.locator("[data-testid='stMain'] img").count() >= 2  # the image and its attribution map
    screenshot(page, "inspect_uploaded")


def test_scoring_then_selecting_a_bar_or_a_row_shows_the_images_behind_it(page, app_url):
    open_page(page, app_url, "id_vs_ood")
    page.get_by_role("button", name="Score", exact=True).click()
    wait_for_text(page, "Scored 1950 images")
    assert_no_exception(page)
    select_tallest_bar(page, page.locator("[data-testid='stPlotlyChart']").first)
    wait_for_text(page, "behind the selected bars", timeout_s=30)
    gallery = page.locator("[data-testid='stMain'] [data-testid='stImage']")
    assert gallery.count() >= 1
    assert_no_exception(page)
    screenshot(page, "id_vs_ood_selected_bar")
    # The attribution-concentration readouts of ID against OOD: compute them, select a bar.
    page.get_by_role("button", name="Compute the maps").click()
    wait_for_text(page, "images per set at most")
    readout_chart = page.locator("[data-testid='stPlotlyChart']").last
    select_tallest_bar(page, readout_chart)
    page.get_by_text("behind the selected bars").nth(1).wait_for(timeout=30_000)
    assert_no_exception(page)
    screenshot(page, "id_vs_ood_readouts")
    for link, name in (("Channel abnormality", "channels_scored"), ("Misflagged samples", "misflagged_scored")):
        page.locator("[data-testid='stSidebarNav']").get_by_role("link", name=link).click()
        wait_idle(page)
        page.get_by_role("heading", name=link).first.wait_for(timeout=30_000)
        assert page.get_by_text("Nothing is scored yet").count() == 0  # the scores survived the switch
        assert_no_exception(page)
        screenshot(page, name)
    # Misflagged is the page shown now: selecting a row of its first table opens that image's detail.
    grid = page.locator("[data-testid='stDataFrame']").first.bounding_box()
    page.mouse.click(grid["x"] + 15, grid["y"] + 52)  # the first row's selection box, under the header
    wait_for_text(page, "Flagged as OOD by", timeout_s=60)
    assert_no_exception(page)
    screenshot(page, "misflagged_detail")
