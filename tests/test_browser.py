"""The app in a real browser: Debian's Chromium driven by Playwright (no browser download).

Starts `streamlit run app.py` on a free local port with a fresh score cache, opens every page,
uploads an image, reads its scores, scores ID vs OOD, selects a histogram bar and sees the
images behind it. Screenshots go to test-artifacts/ (kept by CI as artifacts).
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.slow,  # a real server and Chromium
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and not os.environ.get("CI"),
        reason="Debian's chromium is not installed (the README's test command installs it; in CI its absence fails)",
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    port = _free_port()
    env = {**os.environ, "GAIA_CACHE_DIR": str(tmp_path_factory.mktemp("cache")), "PYTHONUNBUFFERED": "1"}
    log = (tmp_path_factory.mktemp("log") / "streamlit.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.fileWatcherType",
            "none",
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
        ],  # usage statistics are off by .streamlit/config.toml, which the offline test checks
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.5)
        else:
            raise RuntimeError("streamlit did not start")
        yield url
    finally:
        server.terminate()
        server.wait(10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield b
        b.close()


def wait_idle(page, timeout_s: float = 120) -> None:
    """Wait until the app has rendered: its script is not running (for a full second, since a
    polling fragment reruns it) and no element is still a loading skeleton."""
    page.wait_for_selector("[data-testid='stApp']", timeout=timeout_s * 1000)
    idle = "[data-testid='stApp'][data-test-script-state='notRunning']"
    deadline, calm_since = time.monotonic() + timeout_s, None
    while time.monotonic() < deadline:
        calm = page.locator(idle).count() == 1 and page.locator("[data-testid='stSkeleton']").count() == 0
        if not calm:
            calm_since = None
        elif calm_since is None:
            calm_since = time.monotonic()
        elif time.monotonic() - calm_since >= 1.0:
            return
        time.sleep(0.2)
    raise AssertionError("the app kept running")


def assert_no_exception(page) -> None:
    assert page.locator("[data-testid='stException']").count() == 0, page.locator(
        "[data-testid='stException']"
    ).first.inner_text()


PAGES = {  # url path -> the page's title
    "": "GAIA Explorer",
    "inspect": "Inspect images",
    "id_vs_ood": "ID vs OOD",
    "channels": "Channel abnormality",
    "misflagged": "Misflagged samples",
    "how_it_works": "How GAIA works",
}


@pytest.fixture
def page(browser, app_url):
    context = browser.new_context(viewport={"width": 1400, "height": 2400})
    tab = context.new_page()
    yield tab
    context.close()


def open_page(page, app_url: str, path: str) -> None:
    page.goto(f"{app_url}/{path}")
    wait_idle(page)


def wait_for_text(page, text: str, timeout_s: float = 180) -> None:
    page.get_by_text(text).first.wait_for(timeout=timeout_s * 1000)
    wait_idle(page)


def score_on_id_vs_ood(page, app_url: str, per_set: int, timeout_s: float = 180) -> None:
    """Open ID vs OOD, cap the images per set (sidebar), press Score and wait for the result."""
    open_page(page, app_url, "id_vs_ood")
    limit = page.locator("[data-testid='stSidebar']").get_by_role("spinbutton", name="Images per set (at most)")
    limit.fill(str(per_set))
    limit.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Score", exact=True).click()
    wait_for_text(page, "Scored ", timeout_s=timeout_s)


def screenshot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def draw_strokes(page, strokes) -> None:
    """Draw on the page's last canvas with the mouse: each stroke is a list of (x, y) points in
    fractions of the canvas, drawn pen-down through 10 moves per segment."""
    canvas = page.locator("canvas").last
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None and box["width"] > 100, "the drawing canvas did not render"
    x0, y0, w, h = box["x"], box["y"], box["width"], box["height"]
    for stroke in strokes:
        page.mouse.move(x0 + stroke[0][0] * w, y0 + stroke[0][1] * h)
        page.mouse.down()
        for (ax, ay), (bx, by) in itertools.pairwise(stroke):
            for t in range(1, 11):
                page.mouse.move(x0 + (ax + (bx - ax) * t / 10) * w, y0 + (ay + (by - ay) * t / 10) * h)
        page.mouse.up()
        time.sleep(0.3)


def select_tallest_bar(page, chart) -> None:
    """Click the tallest bar of a plotly histogram; if plotly.js misses the click
    (plotly/plotly.js#6898), select the bar with a box instead."""
    chart.scroll_into_view_if_needed()
    time.sleep(1)  # let the chart settle where it scrolled to
    bars = chart.locator(".barlayer .point path")
    assert bars.count() > 5
    heights = [(bars.nth(k).bounding_box() or {"height": 0})["height"] for k in range(bars.count())]
    box = bars.nth(max(range(len(heights)), key=heights.__getitem__)).bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x - 5, y)
    page.mouse.move(x, y, steps=5)
    time.sleep(0.5)  # plotly picks the clicked bar from its (throttled) hover
    page.mouse.click(x, y, delay=100)
    for _ in range(100):
        if page.locator("[data-testid='stApp'][data-test-script-state='running']").count():
            break  # the click reached the app
        time.sleep(0.1)
    else:
        page.mouse.move(x - 4, y - 20)
        page.mouse.down()
        page.mouse.move(x + 4, y + 20, steps=10)
        page.mouse.up()
    wait_idle(page)


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
