"""What batch scoring returns: one dataset's per-sample table, per-channel values and statistics,
and the samples left out because their files could not be read."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

# The per-sample table's columns before the one score column per method.
TABLE_COLUMNS = ("sample_id", "dataset", "index", "path", "label", "pred", "confidence")


@dataclass
class ChannelStats:
    """Per-channel count, mean and sum of squared deviations (Welford), mergeable (Chan et al.).

    Attributes:
        count: number of samples.
        mean: (C,) float64 mean over samples.
        m2: (C,) float64 sum of squared deviations from the mean.
    """

    count: int
    mean: np.ndarray
    m2: np.ndarray

    @classmethod
    def from_values(cls, values: np.ndarray) -> ChannelStats:
        """Statistics of values (N, C)."""
        values = np.asarray(values, dtype=np.float64)
        mean = values.mean(axis=0) if len(values) else np.zeros(values.shape[1])
        return cls(len(values), mean, ((values - mean) ** 2).sum(axis=0))

    def merge(self, other: ChannelStats) -> ChannelStats:
        """Statistics of both sample sets together."""
        if self.count == 0:
            return other
        if other.count == 0:
            return self
        count = self.count + other.count
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.count / count)
        m2 = self.m2 + other.m2 + delta**2 * (self.count * other.count / count)
        return ChannelStats(count, mean, m2)

    @property
    def variance(self) -> np.ndarray:
        """(C,) population variance."""
        return self.m2 / max(self.count, 1)


@dataclass(frozen=True)
class SkippedSample:
    """A sample left out because its file could not be read."""

    index: int
    sample_id: str
    path: str
    reason: str


@dataclass
class DatasetScores:
    """Every sample of one dataset scored by several methods.

    Attributes:
        name: the dataset's name (its ``dataset`` column).
        title: name for tables ("SVHN").
        methods: method names, in the order of the score columns.
        table: one row per readable sample, in dataset order: ``sample_id, dataset, index,
            path, label, pred, confidence`` and one float column per method (higher = more OOD).
        channels: method -> layer -> float32 (N, C) per-channel GAIA values in table row order
            (only with ``keep_channels``; {} otherwise).
        channel_stats: method -> layer -> per-channel statistics over all samples.
        skipped: unreadable samples, in dataset order.
        from_cache: samples whose results were read from the cache.
        scored: samples scored by this call (over all processes).
    """

    name: str
    title: str
    methods: list[str]
    table: pd.DataFrame
    channels: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    channel_stats: dict[str, dict[str, ChannelStats]] = field(default_factory=dict)
    skipped: list[SkippedSample] = field(default_factory=list)
    from_cache: int = 0
    scored: int = 0

    def scores(self, method: str) -> np.ndarray:
        """(N,) scores of one method, in table order."""
        return self.table[method].to_numpy(dtype=np.float64)

    @property
    def accuracy(self) -> float | None:
        """Fraction of labelled samples whose prediction is the label; None without labels."""
        labelled = self.table["label"].to_numpy() >= 0
        if not labelled.any():
            return None
        return float((self.table["pred"].to_numpy()[labelled] == self.table["label"].to_numpy()[labelled]).mean())
