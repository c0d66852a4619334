"""Batches that fit: out of memory halves the batch and retries it, with the same scores, says so
once, and later batches and data sets start at the size that fitted."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from conftest import randomize_norm_stats

from gaia_core.data import demo_dataset, evenly_spaced
from gaia_core.demo.model import build_demo_model
from gaia_core.evaluation.batching import FittingBatches, is_out_of_memory
from gaia_core.evaluation.scoring import evaluate_dataset
from gaia_core.scores import create, score_many

CPU_MESSAGE = (
    "[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: not enough memory: you tried to allocate 9 GB."
)


def _model():
    torch.manual_seed(0)
    return randomize_norm_stats(build_demo_model()).eval()


def _limited(limit: int, error=lambda: torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")):
    """The demo model refusing batches above ``limit``; records every batch size it was given."""
    model = _model()
    seen = {"sizes": [], "refused": 0}

    def check(module, args):
        size = args[0].shape[0]
        seen["sizes"].append(size)
        if size > limit:
            seen["refused"] += 1
            raise error()

    model.register_forward_pre_hook(check)
    return model, seen


def _methods():
    return [create("gaia_a"), create("gaia_z"), create("msp"), create("energy")]


def test_out_of_memory_halves_the_batch_and_the_scores_equal_an_unconstrained_run(caplog):
    digits = evenly_spaced(demo_dataset("digits"), 24)
    free = evaluate_dataset(_model(), digits, _methods(), batch_size=8)
    model, seen = _limited(5)
    with caplog.at_level(logging.WARNING, logger="gaia_core.evaluation.batching"):
        fitted = evaluate_dataset(model, digits, _methods(), batch_size=8)
    for name in ("gaia_a", "gaia_z", "msp", "energy"):
        np.testing.assert_allclose(fitted.scores(name), free.scores(name), rtol=1e-5, atol=1e-7)
    assert fitted.table[["sample_id", "label", "pred"]].equals(free.table[["sample_id", "label", "pred"]])
    assert seen["refused"] == 1  # only the first batch ran out of memory
    assert seen["sizes"][0] == 8 and set(seen["sizes"][1:]) == {4}  # later batches start at 4
    messages = [r.getMessage() for r in caplog.records if "did not fit" in r.getMessage()]
    assert messages == [messages[0]] and "batches of 4" in messages[0] and "of 8" in messages[0]


def test_the_size_that_fitted_is_kept_for_the_next_data_set_of_the_run(caplog):
    model, seen = _limited(3)
    with caplog.at_level(logging.WARNING, logger="gaia_core.evaluation.batching"):
        evaluate_dataset(model, evenly_spaced(demo_dataset("digits"), 8), _methods(), batch_size=8)
        refused = seen["refused"]
        seen["sizes"].clear()
        evaluate_dataset(model, evenly_spaced(demo_dataset("noise"), 8), _methods(), batch_size=8)
    assert refused == 2  # 8 and 4 did not fit, 2 did
    assert seen["refused"] == refused and set(seen["sizes"]) == {2}
    assert sum("did not fit" in r.getMessage() for r in caplog.records) == 1


def test_a_failed_cpu_allocation_counts_as_out_of_memory_and_other_errors_do_not():
    assert is_out_of_memory(RuntimeError(CPU_MESSAGE))
    assert is_out_of_memory(torch.OutOfMemoryError("CUDA out of memory"))
    assert not is_out_of_memory(RuntimeError("mat1 and mat2 shapes cannot be multiplied (4x3 and 5x2)"))
    assert not is_out_of_memory(ValueError("can't allocate memory"))


def test_a_cpu_allocation_failure_is_retried_in_halves():
    model, seen = _limited(2, error=lambda: RuntimeError(CPU_MESSAGE))
    said = []
    batches = FittingBatches(8, say=said.append)
    x = torch.randn(8, 1, 32, 32)
    methods = [create("msp")]
    results = batches.run(lambda part: score_many(model, part, methods), x)
    assert results["msp"].score.shape == (8,) and batches.batch_size == 2 and len(said) == 1
    assert seen["sizes"][:3] == [8, 4, 2]


def test_a_sample_that_does_not_fit_alone_and_other_errors_are_raised():
    model, _ = _limited(0)
    methods = [create("msp")]
    with pytest.raises(torch.OutOfMemoryError):
        FittingBatches(4).run(lambda part: score_many(model, part, methods), torch.randn(4, 1, 32, 32))
    broken, _ = _limited(1, error=lambda: RuntimeError("a bug, not memory"))
    with pytest.raises(RuntimeError, match="a bug"):
        FittingBatches(4).run(lambda part: score_many(broken, part, methods), torch.randn(4, 1, 32, 32))
