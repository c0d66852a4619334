"""Benchmark: gaia_core's GAIA against the straightforward implementation and a plain forward.

    python -m gaia_core.bench [--device cuda|cpu] [--repeats N] [--json FILE]

In one process, on the same model and batch (CIFAR ResNet-18 at 32x32, batch 64; torchvision
ResNet-50 at 224x224, batch 16; random weights with randomized norm statistics), it times
- plain: ``model(x)`` under ``torch.no_grad()``;
- straightforward GAIA: forward hooks that keep each layer output's gradient (handing a
  clone downstream so in-place ops cannot touch it) and ``loss.backward()`` through all
  parameters, once per seed, as the authors' evaluation does;
- gaia_core's ``gaia_a`` / ``gaia_z``;
and prints throughput, the ratios, peak memory, and the largest difference between the two
implementations' scores. Timings are medians over ``--repeats`` runs after one warm-up.
"""

from __future__ import annotations

import argparse
import copy
import ctypes
import dataclasses
import json
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import timm
import torch
import torchvision
from torch import nn

from gaia_core.device import best_device
from gaia_core.models.cifar_resnet import cifar_resnet18
from gaia_core.scores import gaia_a, gaia_z
from gaia_core.scores.reference import straightforward_gaia_a, straightforward_gaia_z
from gaia_core.scores.taps import default_feature_layer, default_gaia_a_layers, default_gaia_z_layers


@dataclass(frozen=True)
class BenchCase:
    """One model and batch to time."""

    # Label in the report.
    name: str
    # Builds the model (random weights).
    build: Callable[[], nn.Module]
    # Input batch size and square side.
    batch: int
    size: int


CASES = (
    BenchCase("cifar_resnet18 32x32 b64", lambda: cifar_resnet18(10), 64, 32),
    BenchCase("resnet50 224x224 b16", lambda: torchvision.models.resnet50(num_classes=1000), 16, 224),
    BenchCase("timm:resnet50 224x224 b16", lambda: timm.create_model("resnet50", pretrained=False), 16, 224),
    # BiT-style ResNetV2: pre-activation, weight-standardised convs, fused GroupNorm+ReLU taps.
    BenchCase("timm:resnetv2_50x1_bit 224x224 b16", lambda: timm.create_model("resnetv2_50x1_bit"), 16, 224),
)


def _randomize_norms(model: nn.Module) -> nn.Module:
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(0.5 + torch.rand(m.weight.shape, generator=g))
                m.bias.copy_(0.3 * torch.randn(m.bias.shape, generator=g))
                m.running_mean.copy_(0.2 * torch.randn(m.running_mean.shape, generator=g))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=g))
    return model


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
    """Make glibc return large freed blocks to the OS at once, so sampled RSS tracks live memory.

    By default glibc raises its mmap threshold after the first large free and keeps later
    blocks in its heap, which hides every peak after the first.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 128 * 1024)  # M_MMAP_THRESHOLD: fixed, no dynamic growth
        libc.malloc_trim(0)
    except OSError:
        pass


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
    model = _randomize_norms(case.build()).eval().to(device)
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gaia_core.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default=None, help="cuda or cpu (default: the best available)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per variant (median reported)")
    parser.add_argument(
        "--cases",
        nargs="*",
        default=None,
        help="subset of cases by index (0: CIFAR ResNet-18, 1: ResNet-50, 2: timm ResNet-50, 3: timm BiT ResNetV2-50)",
    )
    parser.add_argument("--batch", type=int, default=None, help="override every case's batch size (smoke runs)")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows as JSON")
    args = parser.parse_args(argv)
    device = torch.device(args.device) if args.device else best_device()
    cases = [CASES[int(i)] for i in args.cases] if args.cases else list(CASES)
    if args.batch:
        cases = [BenchCase(c.name.rsplit(" b", 1)[0] + f" b{args.batch}", c.build, args.batch, c.size) for c in cases]
    timed = [run_case(case, device, args.repeats) for case in cases]
    rows = [row for case_rows, variants in timed for row in with_peak_memory(case_rows, variants, device)]
    print(format_rows(rows, device))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=2))
    return 0
