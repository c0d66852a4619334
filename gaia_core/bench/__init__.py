"""Benchmark: gaia_core's GAIA against the straightforward implementation and a plain forward.

    python -m gaia_core.bench [--device cuda|cpu] [--repeats N] [--parts ...] [--json FILE]

Part "gaia": in one process configured by `configure_cpu_process` (its settings are printed), on
the same model and batch (CIFAR ResNet-18 at 32x32, batch 64; ResNet-50s at 224x224, batch 16;
BiT-S-R101x1 at 480x480 on a GPU; random weights with randomized norm statistics), it times
- plain: ``model(x)`` under ``torch.no_grad()``;
- straightforward GAIA: forward hooks that keep each layer output's gradient (handing a
  clone downstream so in-place ops cannot touch it) and ``loss.backward()`` through all
  parameters, once per seed, as the authors' evaluation does;
- gaia_core's ``gaia_a`` / ``gaia_z``;
and prints throughput, the ratios, peak memory, and the largest difference between the two
implementations' scores. Timings are medians over ``--repeats`` runs after one warm-up.
Part "heap" (CPU): GAIA-Z and GAIA-A under glibc's defaults and configured, on a fresh heap and
after a full backward, each in a process of its own (`gaia_core.bench.heap`). Part "rerun": what
``evaluate`` and ``layers`` on the demo cost the first time and from the cache
(`gaia_core.bench.rerun`). Part "pipeline": the input pipeline's images per second per worker
against the scoring rates of part "gaia" (`gaia_core.bench.pipeline`).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import ctypes
import dataclasses
import json
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from gaia_core.bench.cases import CASES, DEFAULT_CASES, BenchCase, randomize_norms
from gaia_core.bench.heap import format_heap_rows, heap_rows
from gaia_core.bench.pipeline import format_pipeline, per_worker_rates, write_jpegs
from gaia_core.bench.rerun import format_rerun_rows, rerun_rows
from gaia_core.device import best_device, configure_cpu_process
from gaia_core.scores import gaia_a, gaia_z
from gaia_core.scores.reference import straightforward_gaia_a, straightforward_gaia_z
from gaia_core.scores.taps import default_feature_layer, default_gaia_a_layers, default_gaia_z_layers


class _PeakMemory:
    """Peak memory above the start: CUDA's allocator counter, or sampled RSS on the CPU."""

    def __init__(self, device: torch.device):
        self.device = device

    def __enter__(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.base = torch.cuda.memory_allocated()
        else:
            _release_freed_memory_promptly()
            self.base = self.peak = _rss()
            self.running = True
            self.thread = threading.Thread(target=self._sample, daemon=True)
            self.thread.start()
        return self

    def _sample(self):
        while self.running:
            self.peak = max(self.peak, _rss())
            time.sleep(0.0005)

    def __exit__(self, *exc):
        if self.device.type == "cuda":
            torch.cuda.synchronize()
            self.bytes = torch.cuda.max_memory_allocated() - self.base
        else:
            self.running = False
            self.thread.join()
            self.bytes = max(0, self.peak - self.base)


def _release_freed_memory_promptly() -> None:
    """Hand the heap's free pages back to the OS, so that sampled RSS grows with what the measured
    call touches (the configured heap keeps freed memory, which would hide its peak)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def _time(fn: Callable[[], object], device: torch.device, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _peak_bytes(fn: Callable[[], object], device: torch.device) -> int:
    with _PeakMemory(device) as memory:
        fn()
    return memory.bytes


@dataclass(frozen=True)
class Row:
    case: str
    variant: str
    ms_per_batch: float
    images_per_s: float
    peak_mib: float | None
    vs_straightforward: float | None
    vs_plain_forward: float | None
    max_rel_diff: float | None


def run_case(case: BenchCase, device: torch.device, repeats: int) -> tuple[list[Row], dict[str, Callable[[], object]]]:
    torch.manual_seed(0)
    model = randomize_norms(case.build()).eval().to(device)
    naive_model = copy.deepcopy(model)  # the straightforward path writes .grad; keep it off `model`
    x = torch.randn(case.batch, 3, case.size, case.size, device=device)
    z_layers, a_layers = default_gaia_z_layers(model), default_gaia_a_layers(model)
    feature = default_feature_layer(model)

    def plain():
        with torch.no_grad():
            return model(x)

    variants = {
        "plain forward (no_grad)": plain,
        "GAIA-Z straightforward": lambda: straightforward_gaia_z(naive_model, x, z_layers)[0],
        "GAIA-Z gaia_core": lambda: gaia_z(model, x).score,
        "GAIA-A straightforward": lambda: straightforward_gaia_a(naive_model, x, a_layers, feature)[0],
        "GAIA-A gaia_core": lambda: gaia_a(model, x).score,
    }
    seconds = {name: _time(fn, device, repeats) for name, fn in variants.items()}
    diffs = {
        "GAIA-Z gaia_core": _max_rel_diff(gaia_z(model, x).score, straightforward_gaia_z(naive_model, x, z_layers)[0]),
        "GAIA-A gaia_core": _max_rel_diff(
            gaia_a(model, x).score, straightforward_gaia_a(naive_model, x, a_layers, feature)[0]
        ),
    }
    rows = []
    for name, elapsed in seconds.items():
        straightforward = name.replace("gaia_core", "straightforward")
        rows.append(
            Row(
                case.name,
                name,
                elapsed * 1e3,
                case.batch / elapsed,
                None,
                seconds[straightforward] / elapsed if name.endswith("gaia_core") else None,
                elapsed / seconds["plain forward (no_grad)"],
                diffs.get(name),
            )
        )
    return rows, variants


def with_peak_memory(rows: list[Row], variants: dict[str, Callable[[], object]], device: torch.device) -> list[Row]:
    """Rows with their peak memory, measured after every timing: on the CPU the measurement
    changes how glibc recycles memory for the rest of the process, which would skew timings."""
    return [dataclasses.replace(r, peak_mib=_peak_bytes(variants[r.variant], device) / 2**20) for r in rows]


def _max_rel_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(((a - b).abs() / b.abs().clamp_min(1e-12)).max())


def format_rows(rows: list[Row], device: torch.device) -> str:
    header = f"{'case':26} {'variant':26} {'ms/batch':>9} {'img/s':>8} {'peak MiB':>9} {'speed-up':>9} {'x plain':>8} {'max rel diff':>13}"
    lines = [
        f"device: {device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else f'{torch.get_num_threads()} CPU threads'}), torch {torch.__version__}",
        header,
    ]
    for r in rows:
        speed = f"{r.vs_straightforward:8.2f}x" if r.vs_straightforward else ""
        diff = f"{r.max_rel_diff:13.1e}" if r.max_rel_diff is not None else ""
        lines.append(
            f"{r.case:26} {r.variant:26} {r.ms_per_batch:9.1f} {r.images_per_s:8.1f} {r.peak_mib:9.1f} {speed:>9} {r.vs_plain_forward:7.2f}x {diff}"
        )
    lines.append("speed-up = straightforward time / gaia_core time; x plain = time / plain no_grad forward time.")
    return "\n".join(lines)


PARTS = ("gaia", "heap", "rerun", "pipeline")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gaia_core.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default=None, help="cuda or cpu (default: the best available)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per variant (median reported)")
    parser.add_argument(
        "--cases",
        nargs="*",
        default=None,
        help="subset of cases by index (0: CIFAR ResNet-18, 1: ResNet-50, 2: timm ResNet-50, 3: timm BiT "
        "ResNetV2-50, 4: BiT-S-R101x1 at 480; default 0-3 on a CPU, all on a GPU)",
    )
    parser.add_argument("--batch", type=int, default=None, help="override every case's batch size (smoke runs)")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS), help="what to run (default: all)")
    parser.add_argument("--heap-cases", nargs="*", default=["1"], help="cases of part heap (default: 1, ResNet-50)")
    parser.add_argument("--images", type=int, default=200, help="synthetic JPEGs of part pipeline (default: 200)")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads, here and in the parts' processes (default: torch's)"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the rows as JSON")
    args = parser.parse_args(argv)
    settings = configure_cpu_process()
    if args.threads:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # the parts' processes start with it
        torch.set_num_threads(args.threads)
    device = torch.device(args.device) if args.device else best_device()
    indices = [int(i) for i in args.cases] if args.cases else DEFAULT_CASES[device.type]
    cases = [CASES[i] for i in indices]
    if args.batch:
        cases = [BenchCase(c.name.rsplit(" b", 1)[0] + f" b{args.batch}", c.build, args.batch, c.size) for c in cases]
    print(f"this process: {settings.describe()}", flush=True)
    report: dict[str, list] = {}
    rows: list[Row] = []
    if "gaia" in args.parts:
        timed = [run_case(case, device, args.repeats) for case in cases]
        rows = [row for case_rows, variants in timed for row in with_peak_memory(case_rows, variants, device)]
        print(format_rows(rows, device), flush=True)
        report["gaia"] = rows
    if "heap" in args.parts and device.type == "cpu":
        heap = [r for i in args.heap_cases for r in heap_rows(int(i), max(3, args.repeats // 2), args.batch)]
        print("\n" + format_heap_rows(heap), flush=True)
        report["heap"] = heap
    if "rerun" in args.parts:
        reruns = rerun_rows()
        print("\n" + format_rerun_rows(reruns), flush=True)
        report["rerun"] = reruns
    if "pipeline" in args.parts:
        with tempfile.TemporaryDirectory(prefix="gaia-bench-jpegs-") as folder:
            pipeline = per_worker_rates(write_jpegs(Path(folder), args.images))
        scoring = {f"{r.case}, {r.variant}": r.images_per_s for r in rows if r.variant.endswith("gaia_core")}
        print("\n" + format_pipeline(pipeline, scoring), flush=True)
        report["pipeline"] = pipeline
    if args.json:
        args.json.write_text(json.dumps({k: [asdict(r) for r in v] for k, v in report.items()}, indent=2))
    return 0
