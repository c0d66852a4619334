"""The class-on-one-server load script: its report arithmetic, and one real run (a server, Chromium,
one student through open → upload → detail → What if? → slider). No timing is asserted: the figures
are reported by `python -m gaia_core.loadtest`, not tested."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gaia_core import loadtest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[1]


def test_each_session_uploads_an_image_of_its_own():
    images = [loadtest.session_image(k) for k in range(4)]
    assert len(set(images)) == 4
    with Image.open(io.BytesIO(images[0])) as picture:
        assert picture.format == "PNG" and picture.size[0] > 0


def test_percentiles_of_latencies_and_an_empty_list():
    stats = loadtest._percentiles([1.0, 2.0, 3.0, 4.0, 100.0])
    assert stats == {"p50": 3.0, "p95": pytest.approx(80.8), "max": 100.0}
    assert all(np.isnan(v) for v in loadtest._percentiles([]).values())


def test_server_cpu_is_read_from_the_server_process_not_this_one():
    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.5: pass\ntime.sleep(30)"
    busy = subprocess.Popen([sys.executable, "-c", burn])
    try:
        server = loadtest.Server("http://127.0.0.1:1", busy)
        deadline = time.monotonic() + 20
        while server.cpu_seconds() < 0.5 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert 0.5 <= server.cpu_seconds() < 2.0  # this test process itself has used far more
    finally:
        busy.kill()
        busy.wait()


@pytest.mark.slow
@pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("CI"),
    reason="Debian's chromium is not installed (the README's test command installs it; in CI its absence fails)",
)
def test_one_student_goes_through_every_action_and_the_server_cpu_is_accounted_per_action():
    report = loadtest.run(1, timeout_s=300, chromium=CHROMIUM, app=ROOT / "app.py")
    assert report.completed == 1, report.errors
    assert set(report.latency) == set(loadtest.ACTIONS) == set(report.cpu_by_action)
    assert all(stats["p50"] > 0 for stats in report.latency.values())
    # Every action made the server work, and the per-action figures add up to (about) the total.
    assert all(cpu > 0 for cpu in report.cpu_by_action.values())
    assert sum(report.cpu_by_action.values()) == pytest.approx(report.server_cpu_total, abs=0.2)
    assert report.server_cpu_per_action == pytest.approx(report.server_cpu_total / len(loadtest.ACTIONS))
    assert 0 < report.server_busy == pytest.approx(report.server_cpu_total / report.wall_seconds)
    assert "server CPU per action" in "\n".join(report.lines())


def test_without_app_py_here_the_load_test_says_to_pass_app(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match="pass --app PATH"):
        loadtest.default_app()
    (tmp_path / "app.py").write_text("")
    assert loadtest.default_app() == tmp_path / "app.py"


def test_an_app_path_that_is_not_a_file_is_refused_before_starting_anything(tmp_path):
    with pytest.raises(SystemExit, match="is not a file"):
        loadtest.run(1, app=tmp_path / "missing.py", chromium="/bin/true")
