"""Issue 14 in a real browser: the app asks nothing of any host but the loopback server."""

from __future__ import annotations

from urllib.parse import urlparse

from helpers.browser import CHROMIUM, LAUNCH_ARGS, MARKS, PAGES, wait_idle

pytestmark = MARKS

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def test_no_page_requests_anything_off_the_loopback_address(app_url):
    from playwright.sync_api import sync_playwright

    requested: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.on("request", lambda request: requested.append(request.url))
            for path in PAGES:
                page.goto(f"{app_url}/{path}")
                wait_idle(page)
        finally:
            browser.close()
    outside = [u for u in requested if urlparse(u).scheme in ("http", "https", "ws", "wss")]
    outside = [u for u in outside if urlparse(u).hostname not in LOOPBACK]
    assert requested, "the browser made no request at all"
    assert not outside, outside
