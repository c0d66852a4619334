"""Many sessions at once on one shared model: scoring and attribution interleaved in threads
give exactly the serial results, and leave the model as it was."""

import contextlib
import ctypes
import gc
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from gaia_core.app_support.jobs import JobRunner
from gaia_core.attribution import AttributionConfig, attribute
from gaia_core.demo.data import load_demo_set, normalize
from gaia_core.models import load_model, weights_fingerprint
from gaia_core.scores import create, score_many

ROOT = Path(__file__).resolve().parents[1]


def _hooks(model):
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks) for m in model.modules())


def test_concurrent_scoring_and_attribution_match_serial_runs():
    model = load_model("demo", device="cpu")
    fingerprint = weights_fingerprint(model)
    batches = [normalize(load_demo_set(name)[0][:6]) for name in ("digits", "letters", "noise")]
    methods = [create("gaia_a"), create("gaia_z"), create("odin"), create("energy")]
    configs = [
        AttributionConfig(method="guided_backprop"),
        AttributionConfig(method="grad_cam"),
        AttributionConfig(method="deeplift"),
    ]
    serial_scores = [score_many(model, x, methods) for x in batches]
    serial_maps = [attribute(model, x, c).maps for x, c in zip(batches, configs)]

    errors, scores, maps = [], {}, {}
    barrier = threading.Barrier(6)

    def score(i):
        barrier.wait()
        for _ in range(2):
            scores[i] = score_many(model, batches[i], methods)

    def explain(i):
        barrier.wait()
        for _ in range(2):
            maps[i] = attribute(model, batches[i], configs[i]).maps

    def guarded(fn, i):
        try:
            fn(i)
        except Exception as err:  # collected and asserted below
            errors.append(err)

    threads = [threading.Thread(target=guarded, args=(fn, i)) for fn in (score, explain) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for i in range(3):
        for name, result in serial_scores[i].items():
            torch.testing.assert_close(scores[i][name].score, result.score)
        np.testing.assert_allclose(maps[i], serial_maps[i], rtol=1e-5, atol=1e-7)
    assert _hooks(model) == 0 and weights_fingerprint(model) == fingerprint
    assert all(p.grad is None for p in model.parameters())


def _resident_bytes() -> int:
    gc.collect()
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)  # hand freed heap pages back, so RSS shows live memory
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def _memory_growth_mib() -> float:
    """Resident memory added by 3 rounds of 4 concurrent sessions scoring and explaining on one
    shared model, after a warm-up session (allocator pools, lazily built kernels)."""
    model = load_model("demo", device="cpu")
    x = normalize(load_demo_set("letters")[0][:16])
    methods = [create("gaia_a"), create("gaia_z"), create("odin")]
    config = AttributionConfig(method="integrated_gradients")

    def session():
        for _ in range(3):
            score_many(model, x, methods)
            attribute(model, x, config)

    session()
    baseline = _resident_bytes()
    for _ in range(3):
        threads = [threading.Thread(target=session) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return (_resident_bytes() - baseline) / 2**20


@pytest.mark.slow  # a subprocess of its own, many sessions
def test_memory_returns_near_its_baseline_after_many_sessions():
    # A process of its own: other tests' background jobs would blur the measurement.
    code = "import test_load; print(test_load._memory_growth_mib())"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=600, check=True
    )
    growth = float(done.stdout.strip().splitlines()[-1])
    # 36 scorings and 36 attribution runs, each holding ~30 MB while it runs (graphs, the
    # private model copy, IG's 50 steps): leaking any of them would exceed this bound.
    assert growth < 48, f"{growth:.0f} MiB more resident memory after the sessions ended"


def test_a_session_leaving_mid_run_leaves_the_job_the_model_and_the_cache_usable(tmp_path):
    from gaia_core.data import demo_dataset, evenly_spaced
    from gaia_core.evaluation.cache import ScoreCache
    from gaia_core.evaluation.scoring import evaluate_dataset

    model = load_model("demo", device="cpu")
    dataset = evenly_spaced(demo_dataset("noise"), 40)
    methods = [create("gaia_a"), create("msp")]
    runner, started, cache = JobRunner(), threading.Event(), ScoreCache(tmp_path)

    def work(progress):
        def report(done, total):
            progress(done, total)
            started.set()

        return evaluate_dataset(model, dataset, methods, batch_size=8, chunk_size=8, cache=cache, progress=report)

    key = ("demo", "noise", ("gaia_a", "msp"))
    runner.submit(key, work)  # the session that asked for it is gone: nobody holds the job
    assert started.wait(30)
    job = runner.submit(key, work)  # a later session asks for the same scores
    assert job.wait(60) and job.ok
    again = evaluate_dataset(model, dataset, methods, batch_size=8, chunk_size=8, cache=cache)
    assert again.scored == 0 and again.from_cache == 40
    np.testing.assert_allclose(again.scores("gaia_a"), job.result.scores("gaia_a"))
    assert _hooks(model) == 0 and all(p.grad is None for p in model.parameters())
