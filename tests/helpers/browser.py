"""Driving the app in a real browser: Debian's Chromium through Playwright (no browser download).

The fixtures (``app_url``: `streamlit run app.py` on a free local port with a fresh score cache;
``browser``; ``page``) are in `tests/conftest.py`. Screenshots go to test-artifacts/ (kept by CI
as artifacts).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

# Every browser module's marks (``pytestmark = MARKS``).
MARKS = [
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


@contextlib.contextmanager
def served_app(cache_dir: Path, log_path: Path, env: Mapping[str, str] | None = None) -> Iterator[str]:
    """`streamlit run app.py` on a free loopback port, scoring into ``cache_dir``, with ``env`` added
    to its environment (e.g. ``GAIA_ALLOWED_ROOTS``); yields its URL."""
    port = _free_port()
    env = {**os.environ, "GAIA_CACHE_DIR": str(cache_dir), "PYTHONUNBUFFERED": "1", **(env or {})}
    log = log_path.open("w")
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
        log.close()


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
