"""Which one limits a scoring run: the input pipeline or the model.

The batch loop is timed in two parts: waiting for the data loader to hand over the next batch
(decoding, resizing, collating not yet done by the workers) and everything done with the batch
(scoring, storing). A loader that keeps up is never waited for.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


@dataclass
class Throughput:
    """Seconds spent waiting for batches and scoring them, and the images they held."""

    # Seconds the loop waited for the data loader.
    data_seconds: float = 0.0
    # Seconds the loop spent on the batches themselves (scoring, storing results).
    compute_seconds: float = 0.0
    # Images scored.
    images: int = 0
    # The clock (seconds); injected by tests.
    clock: Callable[[], float] = field(default=time.perf_counter, repr=False, compare=False)

    def timed(self, batches: Iterable[T], count: Callable[[T], int]) -> Iterator[T]:
        """Yield ``batches``, adding the wait for each one and the work done with it before the
        next is asked for; ``count(batch)`` is the number of images in a batch."""
        batches = iter(batches)
        while True:
            asked = self.clock()
            try:
                batch = next(batches)
            except StopIteration:
                return
            got = self.clock()
            self.data_seconds += got - asked
            yield batch
            self.compute_seconds += self.clock() - got
            self.images += count(batch)

    @property
    def data_rate(self) -> float:
        """Images per second the data loader delivered while the loop waited (inf: never waited)."""
        return self.images / self.data_seconds if self.data_seconds > 0 else float("inf")

    @property
    def scoring_rate(self) -> float:
        """Images per second of the scoring itself."""
        return self.images / self.compute_seconds if self.compute_seconds > 0 else float("inf")

    def summary(self) -> str:
        """One line: both rates and which one limits the run."""
        data = (
            "the loader kept up (no wait)"
            if self.data_seconds == 0
            else f"data {self.data_rate:,.0f} img/s ({self.data_seconds:.2f} s waiting for batches)"
        )
        limit = (
            "the input pipeline limits this run (more --workers, or a faster disk)"
            if self.data_seconds > self.compute_seconds
            else "the model limits this run"
        )
        return (
            f"throughput: {self.images} images; scoring {self.scoring_rate:,.0f} img/s "
            f"({self.compute_seconds:.2f} s); {data}: {limit}"
        )


_CURRENT: ContextVar[Throughput | None] = ContextVar("gaia_throughput", default=None)


def measure() -> Throughput:
    """Start timing every batch loop run from here on in this thread (or task); returns the totals."""
    meter = Throughput()
    _CURRENT.set(meter)
    return meter


def current() -> Throughput:
    """The totals `measure` started in this context, or a fresh one nobody reads."""
    return _CURRENT.get() or Throughput()
