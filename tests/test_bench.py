"""The benchmark's parts: heap conditions in processes of their own that state their allocator
settings, the cached-rerun arithmetic, and the input pipeline's decoders and worker count."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gaia_core.bench import heap, pipeline, rerun

ROOT = Path(__file__).resolve().parents[1]


def test_rerun_time_beyond_imports_counts_only_top_level_imports():
    lines = [
        "import time: self [us] | cumulative | imported package",
        "import time:       120 |        300 |   encodings.utf_8",  # nested: inside the next one
        "import time:       200 |     500000 | torch",
        "import time:        50 |     250000 | gaia_core.cli",
    ]
    matched = [m for m in map(rerun._TOP_LEVEL_IMPORT.match, lines) if m]
    assert [m.group(2) for m in matched] == ["torch", "gaia_core.cli"]
    assert sum(int(m.group(1)) for m in matched) == 750000


def test_workers_needed_to_keep_up_with_the_scoring_rate():
    assert pipeline.workers_needed(450.0, 200.0) == 3
    assert pipeline.workers_needed(50.0, 200.0) == 1
    assert pipeline.workers_needed(400.0, 200.0) == 2


def test_both_decoders_make_the_same_model_input_from_a_jpeg(tmp_path):
    (path,) = pipeline.write_jpegs(tmp_path, count=1)
    by_pil = pipeline.pil_pipeline(256, 224)(path)
    by_tensor = pipeline.tensor_pipeline(256, 224)(path)
    assert by_pil.shape == by_tensor.shape == (3, 224, 224) and by_pil.dtype == by_tensor.dtype == torch.float32
    # Two JPEG decoders and two antialiased resizes: close, not bit-identical.
    assert (by_pil - by_tensor).abs().mean() < 0.05


@pytest.mark.slow  # a process of its own
@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the allocator settings are glibc's")
def test_a_heap_condition_runs_in_its_own_process_and_states_its_settings():
    rows = {}
    for condition in ("defaults, fresh heap", "configured, after a backward"):
        done = subprocess.run(
            [sys.executable, "-m", "gaia_core.bench.heap", "0", condition, "1", "2"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr
        rows[condition] = [heap.HeapRow(**r) for r in json.loads(done.stdout.strip().splitlines()[-1])]
    assert [r.variant for r in rows["defaults, fresh heap"]] == list(heap.VARIANTS)
    assert rows["defaults, fresh heap"][0].allocator.endswith("malloc defaults")
    assert "M_MMAP_MAX=0" in rows["configured, after a backward"][0].allocator
    assert all(r.vs_plain_forward > 0 for r in rows["configured, after a backward"])
    assert rows["defaults, fresh heap"][0].vs_plain_forward == 1.0
