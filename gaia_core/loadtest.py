"""A class on one server: N real browser sessions against one local GAIA Explorer server.

    python -m gaia_core.loadtest --sessions 8 [--app PATH]

Each session is a Chromium context (Debian's ``/usr/bin/chromium`` driven by Playwright; nothing is
downloaded) that goes through the student's path: open Inspect images → upload an image of its own →
select a row for its detail → open What if? → move the strength slider. All sessions start together.

Reported per action: latency from the action to the page having finished rerunning (p50, p95, max),
and the server's CPU seconds per action, read from the server process (``/proc/<pid>/stat``) so the
browsers' own cost does not count. Before the sessions start, one warm-up session opens the same pages
so that the model and the ID reference are loaded, as a teacher's would before class; its cost is
reported apart.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from gaia_core.device import configure_cpu_process

ACTIONS = ("open", "upload", "detail", "open what-if", "slider")
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
)


@dataclass
class Server:
    """A ``streamlit run app.py`` process on a loopback port."""

    url: str
    process: subprocess.Popen

    def cpu_seconds(self) -> float:
        """User + system CPU seconds of the server process so far (all its threads)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        # fields[11], fields[12]: utime, stime (man 5 proc, counted after the command name).
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def default_app() -> Path:
    """``./app.py`` when it exists (a checkout's root); an installed copy has none: pass ``--app``."""
    app = Path("app.py")
    if not app.is_file():
        raise SystemExit("gaia: error: no app.py in this folder; pass --app PATH (GAIA Explorer's app.py)")
    return app.resolve()


def start_server(app: Path, cache_dir: Path, log: Path, timeout_s: float = 120) -> Server:
    """Start ``app`` (GAIA Explorer's app.py, run from its folder) on a free loopback port with its
    score cache in ``cache_dir``."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "GAIA_CACHE_DIR": str(cache_dir), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "streamlit", "run", app.name, "--server.fileWatcherType", "none"]
    command += ["--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1"]
    process = subprocess.Popen(command, cwd=app.parent, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                return Server(url, process)
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"the app did not start in {timeout_s:.0f} s; its log is {log}")


def session_image(session: int) -> bytes:
    """A PNG unique to ``session`` (so no session is served another's cached scores): the demo's
    first digit sample with a few pixels of a session-specific pattern."""
    from PIL import Image

    from gaia_core.demo import DEMO_SAMPLES_DIR

    with Image.open(DEMO_SAMPLES_DIR / "digits" / "0.png") as picture:
        pixels = np.array(picture.convert("L"))
    rng = np.random.default_rng(session)
    rows, cols = rng.integers(0, pixels.shape[0], 6), rng.integers(0, pixels.shape[1], 6)
    pixels[rows, cols] = 255 - pixels[rows, cols]
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


# Evaluated in the page (one round trip per wait, not per poll): the script is not running, no
# element is a loading skeleton, and the action's own condition holds.
_RENDERED = """([condition, argument]) => {
    const app = document.querySelector("[data-testid='stApp']");
    if (!app || app.dataset.testScriptState !== "notRunning") return false;
    if (document.querySelector("[data-testid='stSkeleton']")) return false;
    return new Function("argument", condition)(argument);
}"""
# Conditions (JavaScript function bodies of ``argument``).
HAS_TEXT = "return document.body.innerText.includes(argument);"
DETAIL_IS_NOT = """const h = [...document.querySelectorAll("h3")].find(e => e.innerText.startsWith("Detail:"));
    return !!h && h.innerText !== argument;"""
NO_EXACT_TEXT = """return ![...document.querySelectorAll("[data-testid='stImageCaption'], p, div")]
    .some(e => e.childElementCount === 0 && e.innerText.trim() === argument);"""
DETAIL_TEXT = """const h = [...document.querySelectorAll("h3")].find(e => e.innerText.startsWith("Detail:"));
    return h ? h.innerText : "";"""


async def wait_rendered(page, condition: str, argument: str, timeout_s: float) -> None:
    """Wait until the page has finished rerunning and ``condition`` holds (polled every 100 ms)."""
    await page.wait_for_function(_RENDERED, arg=[condition, argument], polling=100, timeout=timeout_s * 1000)


@dataclass
class SessionTimes:
    """Seconds each action of one session took, by action name (`ACTIONS`)."""

    seconds: dict[str, float] = field(default_factory=dict)
    # Server CPU seconds of each action (only measured for a lone session).
    cpu: dict[str, float] = field(default_factory=dict)
    # The action running last, and what failed (empty when nothing did).
    last: str = ""
    error: str = ""


async def student(
    browser, url: str, session: int, timeout_s: float, cpu: Callable[[], float] | None = None
) -> SessionTimes:
    """One student's path; returns the latency of each action. With ``cpu`` (the server's CPU
    seconds so far) each action's server CPU is recorded too, which is only meaningful when this
    session is alone on the server."""
    times = SessionTimes()
    context = await browser.new_context(viewport={"width": 1400, "height": 1600})
    page = await context.new_page()

    async def timed(name: str, act: Callable[[], Awaitable[None]], condition: str, argument: str) -> None:
        times.last = name
        start, start_cpu = time.monotonic(), cpu() if cpu else 0.0
        await act()
        await asyncio.sleep(0.1)  # let the action reach the server before checking for idle
        await wait_rendered(page, condition, argument, timeout_s)
        times.seconds[name] = time.monotonic() - start
        if cpu:
            await asyncio.sleep(0.5)  # what the server still sends after the page looks done
            times.cpu[name] = cpu() - start_cpu

    try:
        await timed("open", lambda: page.goto(f"{url}/inspect"), HAS_TEXT, "Detail:")
        image = {"name": f"student-{session}.png", "mimeType": "image/png", "buffer": session_image(session)}
        uploader = page.locator("[data-testid='stFileUploaderDropzoneInput']").first
        before = await page.evaluate(f"() => {{ {DETAIL_TEXT} }}")
        # Uploads are listed first, so the detail turns to the uploaded image once it is scored.
        await timed("upload", lambda: uploader.set_input_files(image), DETAIL_IS_NOT, before)
        before = await page.evaluate(f"() => {{ {DETAIL_TEXT} }}")

        async def click_second_row() -> None:
            grid = await page.locator("[data-testid='stDataFrame']").first.bounding_box()
            await page.mouse.click(grid["x"] + 15, grid["y"] + 52 + 35)

        await timed("detail", click_second_row, DETAIL_IS_NOT, before)
        await timed("open what-if", lambda: page.goto(f"{url}/what_if"), HAS_TEXT, "Flagged as OOD by")

        async def move_slider() -> None:
            track = page.locator("[data-testid='stSlider']").first
            await track.scroll_into_view_if_needed()
            box = await track.bounding_box()
            await page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.75)

        await timed("slider", move_slider, NO_EXACT_TEXT, "strength 0.00")
    except Exception as err:  # a failed session is reported with the others, not raised
        times.error = f"{times.last}: {type(err).__name__}: {err}".splitlines()[0]
    finally:
        await context.close()
    return times


@dataclass(frozen=True)
class LoadReport:
    """What `run` measured."""

    # Concurrent browser sessions.
    sessions: int
    # Sessions that finished every action.
    completed: int
    # Per action name: p50, p95 and max latency in seconds over the sessions.
    latency: dict[str, dict[str, float]]
    # p50 and p95 latency over every action of every session.
    latency_all: dict[str, float]
    # Server CPU seconds per action (the sessions' total divided by their actions).
    server_cpu_per_action: float
    # Server CPU seconds of the whole run and of the warm-up before it.
    server_cpu_total: float
    warmup_cpu: float
    # Wall seconds from the first session's start to the last one's end.
    wall_seconds: float
    # Per action name: server CPU seconds of that action (from a lone session; only when sessions == 1).
    cpu_by_action: dict[str, float]
    errors: list[str]

    @property
    def server_busy(self) -> float:
        """Server CPU seconds per wall second over the run (1.0 = one core all the time)."""
        return self.server_cpu_total / self.wall_seconds if self.wall_seconds > 0 else float("nan")

    def lines(self) -> list[str]:
        out = [
            f"{self.sessions} session(s), {self.completed} completed, wall {self.wall_seconds:.1f} s; "
            f"warm-up {self.warmup_cpu:.2f} s server CPU",
            f"server CPU per action: {self.server_cpu_per_action:.3f} s "
            f"({self.server_cpu_total:.2f} s for {self.sessions * len(ACTIONS)} actions)",
            f"latency over all actions: p50 {self.latency_all['p50']:.2f} s, p95 {self.latency_all['p95']:.2f} s",
            f"the server was busy {self.server_busy:.0%} of one core over the run; the rest of the wait is the "
            "browsers and whatever else shares the machine",
        ]
        for name, stats in self.latency.items():
            cpu = f", server CPU {self.cpu_by_action[name]:.3f} s" if name in self.cpu_by_action else ""
            out.append(
                f"  {name:<13} p50 {stats['p50']:.2f} s  p95 {stats['p95']:.2f} s  max {stats['max']:.2f} s{cpu}"
            )
        out += [f"  error: {e}" for e in self.errors]
        return out


def _percentiles(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {"p50": float("nan"), "p95": float("nan"), "max": float("nan")}
    array = np.asarray(values)
    return {"p50": float(np.percentile(array, 50)), "p95": float(np.percentile(array, 95)), "max": float(array.max())}


async def _run(server: Server, sessions: int, timeout_s: float, chromium: str) -> LoadReport:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=list(CHROMIUM_ARGS))
        try:
            start_cpu = server.cpu_seconds()
            warm = await student(browser, server.url, 10_000, timeout_s)
            if warm.error:
                raise RuntimeError(f"the warm-up session failed: {warm.error}")
            warmup_cpu = server.cpu_seconds() - start_cpu
            start_cpu, start = server.cpu_seconds(), time.monotonic()
            lone = server.cpu_seconds if sessions == 1 else None
            results = await asyncio.gather(*(student(browser, server.url, k, timeout_s, lone) for k in range(sessions)))
            wall = time.monotonic() - start
            total_cpu = server.cpu_seconds() - start_cpu
        finally:
            await browser.close()
    done = [r for r in results if not r.error]
    every = [s for r in done for s in r.seconds.values()]
    return LoadReport(
        sessions=sessions,
        completed=len(done),
        latency={a: _percentiles([r.seconds[a] for r in done]) for a in ACTIONS},
        latency_all={k: v for k, v in _percentiles(every).items() if k != "max"},
        server_cpu_per_action=total_cpu / (sessions * len(ACTIONS)),
        server_cpu_total=total_cpu,
        warmup_cpu=warmup_cpu,
        wall_seconds=wall,
        cpu_by_action=results[0].cpu,
        errors=[r.error for r in results if r.error],
    )


def run(
    sessions: int,
    timeout_s: float = 300,
    chromium: str | None = None,
    keep_log: Path | None = None,
    app: Path | None = None,
) -> LoadReport:
    """Start a server of ``app`` (default `default_app`) with a fresh score cache, warm it up, run
    ``sessions`` students at once."""
    app = Path(app).resolve() if app else default_app()
    if not app.is_file():
        raise SystemExit(f"gaia: error: --app {app} is not a file; give GAIA Explorer's app.py")
    chromium = chromium or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        raise SystemExit("Chromium is needed: apt-get install -y chromium (or pass --chromium PATH)")
    with tempfile.TemporaryDirectory(prefix="gaia-loadtest-") as tmp:
        log = keep_log or Path(tmp) / "streamlit.log"
        server = start_server(app, Path(tmp) / "cache", log)
        try:
            return asyncio.run(_run(server, sessions, timeout_s, chromium))
        finally:
            server.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gaia_core.loadtest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1], help="concurrent sessions (one run each)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds one action may take")
    parser.add_argument("--chromium", help="the Chromium executable (default: chromium on PATH)")
    parser.add_argument("--log", type=Path, help="keep the server's log here")
    parser.add_argument("--app", type=Path, help="GAIA Explorer's app.py (default: ./app.py)")
    parser.add_argument("--json", type=Path, help="also write the reports as JSON")
    args = parser.parse_args(argv)
    configure_cpu_process()
    app = args.app or default_app()
    reports = []
    for n in args.sessions:
        report = run(n, args.timeout, args.chromium, args.log, app)
        print("\n".join(report.lines()), flush=True)
        reports.append(report)
    if args.json:
        args.json.write_text(json.dumps([{**asdict(r), "server_busy": r.server_busy} for r in reports], indent=2))
    return 0 if all(r.completed == r.sessions for r in reports) else 1


if __name__ == "__main__":
    raise SystemExit(main())
