"""Which one limits a scoring run: the rates come from the wait for each batch and the work on it."""

from __future__ import annotations

import contextvars
import math

from gaia_core.evaluation import throughput
from gaia_core.evaluation.throughput import Throughput


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _run(meter: Throughput, clock: FakeClock, waits: list[float], works: list[float], size: int) -> list:
    def batches():
        for wait in waits:
            clock.now += wait  # the loader takes this long to hand the batch over
            yield [0] * size

    seen = []
    for batch in meter.timed(batches(), len):
        seen.append(batch)
        clock.now += works[len(seen) - 1]  # scoring it takes this long
    return seen


def test_rates_are_images_over_waiting_and_over_scoring_time():
    clock = FakeClock()
    meter = Throughput(clock=clock)
    seen = _run(meter, clock, waits=[0.5, 0.25, 0.25], works=[0.1, 0.2, 0.1], size=10)
    assert len(seen) == 3 and meter.images == 30
    assert math.isclose(meter.data_seconds, 1.0) and math.isclose(meter.compute_seconds, 0.4)
    assert math.isclose(meter.data_rate, 30.0) and math.isclose(meter.scoring_rate, 75.0)
    assert "the input pipeline limits" in meter.summary() and "data 30 img/s" in meter.summary()


def test_a_loader_that_keeps_up_leaves_the_model_as_the_limit():
    clock = FakeClock()
    meter = Throughput(clock=clock)
    _run(meter, clock, waits=[0.0, 0.0], works=[0.5, 0.5], size=8)
    assert meter.data_rate == math.inf and math.isclose(meter.scoring_rate, 16.0)
    assert "kept up" in meter.summary() and "the model limits" in meter.summary()


def test_measure_collects_what_later_loops_in_this_context_time():
    def run() -> Throughput:
        meter = throughput.measure()
        assert throughput.current() is meter
        list(throughput.current().timed([[1, 2], [3]], len))
        return meter

    assert contextvars.copy_context().run(run).images == 3
    outside = contextvars.Context()  # a context where nothing measures: a fresh one nobody reads
    assert outside.run(lambda: throughput.current() is not throughput.current())
