"""GAIA's speed against the CPU heap it runs on: glibc's defaults or `configure_cpu_process`, on a
fresh heap or right after one full backward (what an attribution map, or the straightforward
reference, leaves behind).

Each condition runs in a process of its own (``python -m gaia_core.bench.heap CASE CONDITION``), so
that it starts with the heap it claims; the rows say which settings it ran with.
"""

from __future__ import annotations

import copy
import json
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass

import torch

from gaia_core.bench.cases import CASES, randomize_norms
from gaia_core.device import allocator_defaults, configure_cpu_process
from gaia_core.scores import gaia_a, gaia_z

# name -> (configure the allocator, one full backward before timing).
CONDITIONS = {
    "defaults, fresh heap": (False, False),
    "defaults, after a backward": (False, True),
    "configured, fresh heap": (True, False),
    "configured, after a backward": (True, True),
}
VARIANTS = ("plain forward (no_grad)", "GAIA-Z gaia_core", "GAIA-A gaia_core")


@dataclass(frozen=True)
class HeapRow:
    """One variant's time under one heap condition."""

    case: str
    condition: str
    # The allocator settings the process ran with (`CpuProcessSettings.describe`).
    allocator: str
    variant: str
    ms_per_batch: float
    # Time over the plain no-grad forward's under the same condition.
    vs_plain_forward: float


def run_condition(case_index: int, condition: str, repeats: int, batch: int | None) -> list[HeapRow]:
    """Time `VARIANTS` in this process (round-robin, median of ``repeats`` after one warm-up each)."""
    configure, after_backward = CONDITIONS[condition]
    settings = configure_cpu_process() if configure else allocator_defaults()
    case = CASES[case_index]
    torch.manual_seed(0)
    model = randomize_norms(case.build()).eval()
    x = torch.randn(batch or case.batch, 3, case.size, case.size)
    if after_backward:
        other = copy.deepcopy(model)  # the full backward writes .grad: not on the timed model
        other(x).max(dim=1).values.sum().backward()
        del other

    def plain():
        with torch.no_grad():
            return model(x)

    variants = dict(zip(VARIANTS, (plain, lambda: gaia_z(model, x).score, lambda: gaia_a(model, x).score)))
    for fn in variants.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeats):
        for name, fn in variants.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    median = {name: statistics.median(t) for name, t in times.items()}
    label = case.name if batch is None else case.name.rsplit(" b", 1)[0] + f" b{batch}"
    return [
        HeapRow(label, condition, settings.describe(), name, 1e3 * s, s / median[VARIANTS[0]])
        for name, s in median.items()
    ]


def heap_rows(case_index: int, repeats: int, batch: int | None = None) -> list[HeapRow]:
    """Every condition of one case, each in a fresh process."""
    rows = []
    for condition in CONDITIONS:
        command = [sys.executable, "-m", "gaia_core.bench.heap", str(case_index), condition, str(repeats)]
        command += [str(batch)] if batch else []
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"the heap run '{condition}' failed: {done.stderr.strip()[-2000:]}")
        rows += [HeapRow(**r) for r in json.loads(done.stdout.strip().splitlines()[-1])]
    return rows


def format_heap_rows(rows: list[HeapRow]) -> str:
    lines = [
        "CPU heap: each condition in a process of its own (median, round-robin); x plain = time / the plain "
        "forward's under the same condition",
        f"{'case':26} {'heap':30} {'variant':26} {'ms/batch':>9} {'x plain':>8}",
    ]
    lines += [
        f"{r.case:26} {r.condition:30} {r.variant:26} {r.ms_per_batch:9.1f} {r.vs_plain_forward:7.2f}x" for r in rows
    ]
    settings = dict.fromkeys(f"  {r.condition.split(',')[0]}: {r.allocator}" for r in rows)
    return "\n".join([*lines, "allocator settings:", *settings])


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    case_index, condition, repeats = int(args[0]), args[1], int(args[2])
    batch = int(args[3]) if len(args) > 3 else None
    print(json.dumps([asdict(r) for r in run_condition(case_index, condition, repeats, batch)]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
