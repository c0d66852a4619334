"""What a rerun from the score cache costs: a command run twice, each time in a fresh process, with a
fresh cache folder the first time; seconds beyond imports (``python -X importtime``'s top-level
imports subtracted from the time the command took)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass

# Commands timed, as `python -m gaia_core` arguments.
COMMANDS = {
    "evaluate --model demo": ["evaluate", "--model", "demo", "--no-progress"],
    "layers --model demo": ["layers", "--model", "demo", "--no-progress"],
}
_CHILD = """
import json, sys, time
start = time.perf_counter()
from gaia_core.cli import main
code = main(json.loads(sys.argv[1]))
print("GAIA-BENCH " + json.dumps({"code": code, "seconds": time.perf_counter() - start}))
"""
_TOP_LEVEL_IMPORT = re.compile(r"^import time:\s+\d+ \|\s+(\d+) \| (\S.*)$")


@dataclass(frozen=True)
class RerunRow:
    """One command, scored then read back from the cache."""

    command: str
    # Seconds beyond imports: the first run (scoring, fresh cache) and the second (from the cache).
    first_s: float
    cached_s: float
    # Seconds of imports in each run.
    first_imports_s: float
    cached_imports_s: float


def _run_once(arguments: list[str], cache_dir: str) -> tuple[float, float]:
    env = {**os.environ, "GAIA_CACHE_DIR": cache_dir}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", _CHILD, json.dumps(arguments)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    result = next((line for line in done.stdout.splitlines() if line.startswith("GAIA-BENCH ")), None)
    if done.returncode != 0 or result is None:
        raise RuntimeError(f"`python -m gaia_core {' '.join(arguments)}` failed: {done.stderr.strip()[-2000:]}")
    measured = json.loads(result.removeprefix("GAIA-BENCH "))
    if measured["code"] != 0:
        raise RuntimeError(f"`python -m gaia_core {' '.join(arguments)}` exited with {measured['code']}")
    imports = sum(int(m.group(1)) for m in map(_TOP_LEVEL_IMPORT.match, done.stderr.splitlines()) if m) / 1e6
    return measured["seconds"] - imports, imports


def rerun_rows(commands: dict[str, list[str]] = COMMANDS) -> list[RerunRow]:
    """Each command twice, each with a cache folder of its own made empty for its first run."""
    rows = []
    for label, arguments in commands.items():
        with tempfile.TemporaryDirectory(prefix="gaia-bench-cache-") as cache_dir:
            first, first_imports = _run_once(arguments, cache_dir)
            cached, cached_imports = _run_once(arguments, cache_dir)
        rows.append(RerunRow(label, first, cached, first_imports, cached_imports))
    return rows


def format_rerun_rows(rows: list[RerunRow]) -> str:
    lines = [
        "cached reruns (each run a fresh process; seconds beyond imports, imports in brackets):",
        f"{'command':28} {'first run':>16} {'from the cache':>16}",
    ]
    lines += [
        f"{r.command:28} {r.first_s:8.2f} s ({r.first_imports_s:4.1f}) {r.cached_s:8.2f} s ({r.cached_imports_s:4.1f})"
        for r in rows
    ]
    return "\n".join(lines)
