"""Long work in background threads, shared by everyone who asks for the same thing.

The app submits work under a key made of plain values (model, dataset, methods). A second
submit with the same key, from a double click, another page or another browser session,
gets the job already running or finished instead of starting the work twice. Finished jobs
are kept in a bounded LRU so memory stays bounded.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from gaia_core.progress import Progress

LOG = logging.getLogger(__name__)


@dataclass
class Job:
    """One unit of background work and what is known of it so far."""

    key: Hashable
    label: str
    done: int = 0
    total: int = 0
    result: Any = None
    error: str | None = None
    finished: bool = False
    _event: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0

    @property
    def ok(self) -> bool:
        return self.finished and self.error is None

    def wait(self, timeout: float | None = None) -> bool:
        return self._event.wait(timeout)


class JobRunner:
    """Runs ``fn(progress)`` once per key in a daemon thread."""

    def __init__(self, keep_finished: int = 32):
        self._lock = threading.Lock()
        self._jobs: OrderedDict[Hashable, Job] = OrderedDict()
        self._keep = keep_finished

    def submit(self, key: Hashable, fn: Callable[[Progress], Any], label: str = "") -> Job:
        """The job for ``key``: an existing running or successful one, else a new one.

        A job that failed is replaced, so the user can retry after fixing the cause.
        """
        with self._lock:
            job = self._jobs.get(key)
            if job is not None and (not job.finished or job.ok):
                self._jobs.move_to_end(key)
                return job
            job = Job(key, label or str(key))
            self._jobs[key] = job
            self._evict()
        threading.Thread(target=self._run, args=(job, fn), daemon=True, name=f"job:{job.label}").start()
        return job

    def get(self, key: Hashable) -> Job | None:
        with self._lock:
            return self._jobs.get(key)

    def _run(self, job: Job, fn: Callable[[Progress], Any]) -> None:
        def progress(done: int, total: int) -> None:
            job.done, job.total = done, total

        try:
            job.result = fn(progress)
        except Exception as err:  # recorded for the UI, and logged with its traceback for the server's owner
            LOG.warning("job '%s' failed", job.label, exc_info=True)
            job.error = f"{type(err).__name__}: {err}" if not str(err) else str(err)
        finally:
            job.finished = True
            job._event.set()

    def _evict(self) -> None:
        finished = [k for k, j in self._jobs.items() if j.finished]
        for key in finished[: max(0, len(finished) - self._keep)]:
            del self._jobs[key]
