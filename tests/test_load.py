"""Many sessions at once on one shared model: scoring and attribution interleaved in threads
give exactly the serial results, and leave the model as it was."""

import threading

import numpy as np
import torch

from gaia_core.attribution import AttributionConfig, attribute
from gaia_core.demo.data import load_demo_set, normalize
from gaia_core.jobs import JobRunner
from gaia_core.models import load_model, weights_fingerprint
from gaia_core.scores import create, score_many


def _hooks(model):
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks) for m in model.modules())


def test_concurrent_scoring_and_attribution_match_serial_runs():
    model = load_model("demo", device="cpu")
    fingerprint = weights_fingerprint(model)
    batches = [normalize(load_demo_set(name)[0][:6]) for name in ("digits", "letters", "noise")]
    methods = [create("gaia_a"), create("gaia_z"), create("odin"), create("energy")]
    configs = [AttributionConfig(method="guided_backprop"), AttributionConfig(method="grad_cam"), AttributionConfig(method="deeplift")]
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


def test_double_submission_of_the_same_work_runs_it_once():
    runner, calls, gate = JobRunner(), [], threading.Event()

    def work(progress):
        calls.append(1)
        gate.wait(5)
        return len(calls)

    jobs = [runner.submit(("demo", "digits", ("gaia_a",)), work) for _ in range(5)]
    gate.set()
    assert all(job is jobs[0] for job in jobs) and jobs[0].wait(5) and calls == [1]
