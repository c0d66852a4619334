"""One cached unit of batch-scoring results, and the one type that knows its on-disk layout.

A chunk is a flat mapping name -> numpy array, what `gaia_core.evaluation.cache.CacheEntry`
stores as one ``.npz``: the per-sample columns (`Chunk.COLUMNS`), each method's scores, per GAIA
layer either every sample's channel values or their streamed statistics, and the skipped
samples. `Chunk` alone builds and reads the array names; `ChunkBuilder` fills one batch by batch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from gaia_core.evaluation.results import ChannelStats, SkippedSample

# Version of the layout below, part of every cache key: bump it when the layout changes.
CACHE_FORMAT = 1


@dataclass(frozen=True)
class Chunk:
    """Results of some samples of one dataset, as stored.

    Attributes:
        arrays: array name -> values: ``index`` (N,) dataset positions of the readable samples,
            ``label``, ``pred``, ``confidence``, ``sample_id``, ``path`` (N,); ``score|<method>``
            (N,); ``ch|<method>|<layer>`` (N, C) kept channel values, or
            ``stat|<method>|<layer>|count|mean|m2`` their statistics; ``skip_index``,
            ``skip_sample_id``, ``skip_path``, ``skip_reason`` (K,) the unreadable samples.
    """

    arrays: Mapping[str, np.ndarray]

    # Per-sample columns of the readable samples, in table order.
    COLUMNS = ("index", "label", "pred", "confidence", "sample_id", "path")
    _SKIPPED = ("skip_index", "skip_sample_id", "skip_path", "skip_reason")

    @staticmethod
    def _score_key(method: str) -> str:
        return f"score|{method}"

    @staticmethod
    def _channel_key(method: str, layer: str) -> str:
        return f"ch|{method}|{layer}"

    @staticmethod
    def _stat_key(method: str, layer: str, part: str) -> str:
        return f"stat|{method}|{layer}|{part}"

    @classmethod
    def build(
        cls,
        columns: Mapping[str, np.ndarray],
        scores: Mapping[str, np.ndarray],
        channels: Mapping[tuple[str, str], np.ndarray],
        skipped: Sequence[tuple[int, str, str, str]],
        keep_channels: bool,
    ) -> Chunk:
        """The chunk of some scored samples.

        Args:
            columns: each of `COLUMNS` -> (N,) values.
            scores: method -> (N,) scores.
            channels: (method, layer) -> (N, C) per-channel values; stored whole with
                ``keep_channels``, else as their `ChannelStats`.
            skipped: (index, sample id, path, reason) of each unreadable sample.
        """
        arrays = {name: columns[name] for name in cls.COLUMNS}
        for method, values in scores.items():
            arrays[cls._score_key(method)] = values
        for (method, layer), values in channels.items():
            if keep_channels:
                arrays[cls._channel_key(method, layer)] = values
            else:
                stats = ChannelStats.from_values(values)
                arrays[cls._stat_key(method, layer, "count")] = np.array(stats.count, dtype=np.int64)
                arrays[cls._stat_key(method, layer, "mean")] = stats.mean
                arrays[cls._stat_key(method, layer, "m2")] = stats.m2
        skipped = sorted(skipped)
        arrays["skip_index"] = np.array([s[0] for s in skipped], dtype=np.int64)
        for position, key in enumerate(cls._SKIPPED[1:], start=1):
            arrays[key] = np.array([s[position] for s in skipped], dtype=str)
        return cls(arrays)

    @property
    def indices(self) -> np.ndarray:
        """Dataset positions of every sample of the chunk, readable ones first, then skipped ones."""
        return np.concatenate([self.arrays["index"], self.arrays["skip_index"]])

    @property
    def file_name(self) -> str:
        """The cache file name: the first position and a digest of all positions."""
        indices = self.indices
        digest = hashlib.sha256(np.ascontiguousarray(indices, dtype=np.int64).tobytes()).hexdigest()[:12]
        return f"{int(indices.min()):010d}-{digest}"

    def has_scores(self, methods: Sequence[str]) -> bool:
        """Whether the chunk holds every one of ``methods``' scores."""
        return all(self._score_key(m) in self.arrays for m in methods)

    def column(self, name: str) -> np.ndarray:
        """(N,) one of `COLUMNS`."""
        return self.arrays[name]

    def scores(self, method: str) -> np.ndarray:
        """(N,) one method's scores."""
        return self.arrays[self._score_key(method)]

    def layers(self) -> Iterator[tuple[str, str, bool]]:
        """(method, layer, kept) of every layer with channel values, in stored order; ``kept``:
        every sample's values are stored (`channels`), else only their statistics (`stats`)."""
        for key in self.arrays:
            kind, *rest = key.split("|")
            if kind == "ch":
                yield rest[0], rest[1], True
            elif kind == "stat" and rest[2] == "count":
                yield rest[0], rest[1], False

    def channels(self, method: str, layer: str) -> np.ndarray | None:
        """(N, C) the kept channel values of one layer, None when not stored."""
        return self.arrays.get(self._channel_key(method, layer))

    def stats(self, method: str, layer: str) -> ChannelStats | None:
        """The stored statistics of one layer's channel values, None when not stored."""
        count = self.arrays.get(self._stat_key(method, layer, "count"))
        if count is None:
            return None
        key = self._stat_key
        return ChannelStats(int(count), self.arrays[key(method, layer, "mean")], self.arrays[key(method, layer, "m2")])

    def skipped(self) -> list[SkippedSample]:
        """The chunk's unreadable samples."""
        return [
            SkippedSample(int(i), str(s), str(p), str(r))
            for i, s, p, r in zip(*(self.arrays[k] for k in self._SKIPPED))
        ]


class ChunkBuilder:
    """Collects the batches of one chunk into plain arrays."""

    def __init__(self, methods: Sequence[str], keep_channels: bool):
        self.methods = methods
        self.keep_channels = keep_channels
        self.columns: dict[str, list] = {k: [] for k in Chunk.COLUMNS}
        self.scores: dict[str, list[np.ndarray]] = {m: [] for m in methods}
        self.channels: dict[tuple[str, str], list[np.ndarray]] = {}
        self.skipped: list[tuple[int, str, str, str]] = []

    def add(self, batch: dict, results: Mapping | None) -> None:
        """One batch (`gaia_core.evaluation.loading.collate_samples`) and its results (method ->
        `ScoreResult`; None when none of the batch could be read)."""
        self.skipped.extend(batch["skipped"])
        if results is None:
            return
        logits = next(iter(results.values())).logits.detach().float()
        probabilities = logits.softmax(dim=1)
        self.columns["index"].append(batch["index"].numpy())
        self.columns["label"].append(batch["label"].numpy())
        self.columns["pred"].append(logits.argmax(dim=1).cpu().numpy())
        self.columns["confidence"].append(probabilities.max(dim=1).values.cpu().numpy())
        self.columns["sample_id"].extend(batch["sample_id"])
        self.columns["path"].extend(batch["path"])
        for name, result in results.items():
            self.scores[name].append(result.score.detach().float().cpu().numpy())
            for layer, values in result.channels.items():
                self.channels.setdefault((name, layer), []).append(values.detach().float().cpu().numpy())

    def finish(self) -> Chunk:
        columns = {
            "index": _concat(self.columns["index"], np.int64),
            "label": _concat(self.columns["label"], np.int64),
            "pred": _concat(self.columns["pred"], np.int64),
            "confidence": _concat(self.columns["confidence"], np.float32),
            "sample_id": np.array(self.columns["sample_id"], dtype=str),
            "path": np.array(self.columns["path"], dtype=str),
        }
        scores = {name: _concat(parts, np.float32) for name, parts in self.scores.items()}
        channels = {key: np.concatenate(parts).astype(np.float32) for key, parts in self.channels.items()}
        return Chunk.build(columns, scores, channels, self.skipped, self.keep_channels)


def _concat(parts: list[np.ndarray], dtype) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)
