"""ID vs OOD in a real browser: the "Download report" button hands over one HTML report, and a
chart's camera button saves a PNG."""

from __future__ import annotations

from helpers.browser import (
    MARKS,
    assert_no_exception,
    score_on_id_vs_ood,
)

pytestmark = MARKS


def test_download_report_button_writes_the_html_report_and_camera_saves_a_png(page, app_url, tmp_path):
    score_on_id_vs_ood(page, app_url, 20, timeout_s=420)
    with page.expect_download(timeout=120_000) as download:
        page.get_by_role("button", name="Download report").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    text = saved.read_text(encoding="utf-8")
    assert saved.suffix == ".html" and "Metrics of every method" in text
    assert text.count('class="plotly-graph-div"') >= 3 and text.count("data:image/png;base64,") >= 12
    chart = page.locator("[data-testid='stPlotlyChart']").first
    chart.scroll_into_view_if_needed()
    chart.hover()
    with page.expect_download() as png:
        chart.locator(".modebar-btn[data-title^='Download plot']").click()
    image = tmp_path / png.value.suggested_filename
    png.value.save_as(image)
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert_no_exception(page)
