"""Batches that fit: a batch that runs out of memory is halved and retried, and the size that fit is
kept for the rest of the run.

Scores are per sample (eval mode: no statistic couples the samples of a batch), so scoring a batch
in pieces gives the same results as scoring it at once.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Mapping, Sequence

import torch
from torch import Tensor, nn

from gaia_core.scores import ScoreResult

LOG = logging.getLogger(__name__)
# Words of the RuntimeError torch raises when the CPU allocator cannot get the memory.
_CPU_OOM_WORDS = ("defaultcpuallocator", "can't allocate memory", "could not allocate", "cannot allocate memory")


def is_out_of_memory(err: BaseException) -> bool:
    """True for CUDA's `torch.OutOfMemoryError` and for a failed CPU allocation."""
    if isinstance(err, torch.OutOfMemoryError):
        return True
    return isinstance(err, RuntimeError) and any(w in str(err).lower() for w in _CPU_OOM_WORDS)


def concat_results(pieces: Sequence[Mapping[str, ScoreResult]]) -> dict[str, ScoreResult]:
    """Results of consecutive pieces of one batch as the results of the whole batch."""
    if len(pieces) == 1:
        return dict(pieces[0])
    return {
        name: ScoreResult(
            torch.cat([p[name].score for p in pieces]),
            torch.cat([p[name].logits for p in pieces]),
            {layer: torch.cat([p[name].channels[layer] for p in pieces]) for layer in first.channels},
        )
        for name, first in pieces[0].items()
    }


class FittingBatches:
    """Runs ``score(x)`` on pieces of at most the largest batch that fitted so far.

    Args:
        batch_size: the batch size asked for (the first pieces' size).
        say: called once with a line naming the batch size used, when it had to be lowered.
    """

    def __init__(self, batch_size: int, say: Callable[[str], None] = LOG.warning):
        self.asked = batch_size
        self.batch_size = batch_size
        self.say = say
        self._said = False

    def run(self, score: Callable[[Tensor], Mapping[str, ScoreResult]], x: Tensor) -> dict[str, ScoreResult]:
        """``score`` on (B, ...) ``x`` in pieces that fit; results in the order of ``x``.

        Raises:
            the out-of-memory error itself when even one sample does not fit, and any other error.
        """
        pieces, start = [], 0
        while start < len(x):
            size = min(self.batch_size, len(x) - start)
            try:
                pieces.append(score(x[start : start + size]))
            except (RuntimeError, torch.OutOfMemoryError) as err:
                if size == 1 or not is_out_of_memory(err):
                    raise
                failed = True
            else:
                failed = False
                start += size
            if failed:  # outside the except block, so the failed attempt's tensors are freed first
                self.batch_size = size // 2
                if x.is_cuda:
                    torch.cuda.empty_cache()
        if self.batch_size < self.asked and not self._said:
            self._said = True
            self.say(
                f"a batch of {self.asked} did not fit in memory; scoring in batches of {self.batch_size} "
                "for the rest of this run (scores are per sample: the results are the same)"
            )
        return concat_results(pieces)


# The model -> (batch size asked, sample shape, device) -> the fitting batches of this process's run.
_REMEMBERED: weakref.WeakKeyDictionary[nn.Module, dict[tuple, FittingBatches]] = weakref.WeakKeyDictionary()


def fitting_batches(model: nn.Module, batch_size: int, x: Tensor) -> FittingBatches:
    """The `FittingBatches` of this model, asked batch size and input shape, made on first use, so
    that every later batch and data set of the run starts at the size that fitted."""
    per_model = _REMEMBERED.setdefault(model, {})
    key = (batch_size, tuple(x.shape[1:]), str(x.device))
    if key not in per_model:
        per_model[key] = FittingBatches(batch_size)
    return per_model[key]
