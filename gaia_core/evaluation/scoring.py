"""Batch scoring: every sample of a dataset scored by several methods in one pass over the data.

Per batch, `gaia_core.scores.score_many` shares the work between methods (one forward for the
logit-based scores, one graph for GAIA-A and GAIA-Z). Samples are processed in chunks; each
finished chunk is stored in the cache (when one is given), so a second run reads everything
back without scoring and an interrupted run resumes after its last finished chunk. Files that
cannot be read are skipped and reported. Under torchrun the samples are split across
processes and the results merged (see `gaia_core.evaluation.distributed`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from gaia_core.data.base import DataError, EmptyDatasetError, ScoreDataset, UnreadableSample
from gaia_core.device import model_device
from gaia_core.errors import ConfigError
from gaia_core.evaluation import distributed as dist
from gaia_core.evaluation import throughput
from gaia_core.evaluation.batching import fitting_batches
from gaia_core.evaluation.cache import ScoreCache
from gaia_core.evaluation.code_version import code_version
from gaia_core.models import weights_fingerprint
from gaia_core.progress import Progress
from gaia_core.scores import ScoreMethod, score_many

# Samples per cached chunk (rounded up to whole batches): the granularity of resuming.
CHUNK_SAMPLES = 1024
TABLE_COLUMNS = ("sample_id", "dataset", "index", "path", "label", "pred", "confidence")
CACHE_FORMAT = 1


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


# ---------------------------------------------------------------------------------------------
# Loading


class _Indexed(Dataset):
    """(index, Sample) pairs; an unreadable sample becomes (index, UnreadableSample)."""

    def __init__(self, dataset: ScoreDataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        try:
            return index, self.dataset[index]
        except UnreadableSample as bad:
            return index, bad


def collate_samples(items: list) -> dict:
    """Stack readable samples into one batch; unreadable ones are listed in ``skipped``."""
    good = [(i, s) for i, s in items if not isinstance(s, UnreadableSample)]
    skipped = [(i, s.sample_id, s.path, s.reason) for i, s in items if isinstance(s, UnreadableSample)]
    shapes = {tuple(s.image.shape) for _, s in good}
    if len(shapes) > 1:
        raise DataError(f"samples of one batch have different shapes {sorted(shapes)}; the transform must fix the size")
    return {
        "x": torch.stack([s.image for _, s in good]) if good else None,
        "index": torch.tensor([i for i, _ in good], dtype=torch.int64),
        "label": torch.tensor([s.label for _, s in good], dtype=torch.int64),
        "sample_id": [s.sample_id for _, s in good],
        "path": [s.path for _, s in good],
        "skipped": skipped,
    }


def _workers(dataset: ScoreDataset, num_workers: int | None) -> int:
    if num_workers is not None:
        return num_workers
    return 0 if dataset.in_memory else min(4, os.cpu_count() or 1)


def batch_loader(dataset: ScoreDataset, batches: list[list[int]], num_workers: int | None, device: torch.device):
    """Batches of ``dataset`` (as `collate_samples` makes them) in the order of ``batches`` (lists of
    indices), read by worker processes for on-disk sets and pinned for a CUDA device."""
    workers = _workers(dataset, num_workers)
    return DataLoader(
        _Indexed(dataset),
        batch_sampler=batches,
        num_workers=workers,
        collate_fn=collate_samples,
        pin_memory=device.type == "cuda",
        prefetch_factor=4 if workers else None,
    )


def _input_device(model: nn.Module, device: torch.device | str | None) -> torch.device:
    """The model's device; a differing ``device`` is an error (the model is never moved here)."""
    here = model_device(model)
    if device is not None:
        asked = torch.device(device)
        if asked.type != here.type or (asked.index is not None and asked.index != here.index):
            raise ConfigError(f"the model is on {here} but device={device} was asked; move the model first")
    return here


# ---------------------------------------------------------------------------------------------
# Chunks: one cached unit of results


def method_config(method: ScoreMethod) -> dict:
    """What identifies a method's results: its class and every field (fitted state included)."""
    config = dataclasses.asdict(method) if dataclasses.is_dataclass(method) else repr(method)
    return {"class": f"{type(method).__module__}.{type(method).__qualname__}", "name": method.name, "config": config}


def score_cache_parts(
    weights_id: str, dataset: ScoreDataset, methods: Sequence[ScoreMethod], keep_channels: bool
) -> dict:
    """Everything a dataset's scores depend on (the cache key); the batch size is not part of it."""
    return {
        "weights": weights_id,
        "dataset": dataset.fingerprint(),
        "size": len(dataset),
        "methods": [method_config(m) for m in methods],
        "keep_channels": keep_channels,
        "version": code_version(),
        "format": CACHE_FORMAT,
    }


class _ChunkBuilder:
    """Collects the batches of one chunk into plain arrays."""

    def __init__(self, methods: Sequence[str], keep_channels: bool):
        self.methods = methods
        self.keep_channels = keep_channels
        self.columns: dict[str, list] = {k: [] for k in ("index", "label", "pred", "confidence", "sample_id", "path")}
        self.scores: dict[str, list[np.ndarray]] = {m: [] for m in methods}
        self.channels: dict[tuple[str, str], list[np.ndarray]] = {}
        self.skipped: list[tuple[int, str, str, str]] = []

    def add(self, batch: dict, results: Mapping | None) -> None:
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

    def finish(self) -> dict[str, np.ndarray]:
        arrays: dict[str, np.ndarray] = {
            "index": _concat(self.columns["index"], np.int64),
            "label": _concat(self.columns["label"], np.int64),
            "pred": _concat(self.columns["pred"], np.int64),
            "confidence": _concat(self.columns["confidence"], np.float32),
            "sample_id": np.array(self.columns["sample_id"], dtype=str),
            "path": np.array(self.columns["path"], dtype=str),
        }
        for name, parts in self.scores.items():
            arrays[f"score|{name}"] = _concat(parts, np.float32)
        for (name, layer), parts in self.channels.items():
            values = np.concatenate(parts).astype(np.float32)
            if self.keep_channels:
                arrays[f"ch|{name}|{layer}"] = values
            else:
                stats = ChannelStats.from_values(values)
                arrays[f"stat|{name}|{layer}|count"] = np.array(stats.count, dtype=np.int64)
                arrays[f"stat|{name}|{layer}|mean"] = stats.mean
                arrays[f"stat|{name}|{layer}|m2"] = stats.m2
        skipped = sorted(self.skipped)
        arrays["skip_index"] = np.array([s[0] for s in skipped], dtype=np.int64)
        for position, key in ((1, "skip_sample_id"), (2, "skip_path"), (3, "skip_reason")):
            arrays[key] = np.array([s[position] for s in skipped], dtype=str)
        return arrays


def _concat(parts: list[np.ndarray], dtype) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)


def _chunk_indices(chunk: Mapping[str, np.ndarray]) -> np.ndarray:
    return np.concatenate([chunk["index"], chunk["skip_index"]])


def _chunk_name(indices: np.ndarray) -> str:
    digest = hashlib.sha256(np.ascontiguousarray(indices, dtype=np.int64).tobytes()).hexdigest()[:12]
    return f"{int(indices.min()):010d}-{digest}"


def _usable_chunks(chunks: list[dict], total: int, methods: Sequence[str]) -> list[dict]:
    """Chunks that fit this dataset and method list and do not overlap an earlier chunk."""
    seen = np.zeros(total, dtype=bool)
    usable = []
    for chunk in chunks:
        indices = _chunk_indices(chunk)
        if any(f"score|{m}" not in chunk for m in methods) or (indices.size and indices.max() >= total):
            continue
        if seen[indices].any():
            continue
        seen[indices] = True
        usable.append(chunk)
    return usable


# ---------------------------------------------------------------------------------------------
# Scoring


def evaluate_dataset(
    model: nn.Module,
    dataset: ScoreDataset,
    methods: Sequence[ScoreMethod],
    *,
    batch_size: int = 64,
    device: torch.device | str | None = None,
    num_workers: int | None = None,
    progress: Progress | None = None,
    progress_bar: bool = False,
    cache: ScoreCache | None = None,
    keep_channels: bool = True,
    chunk_size: int | None = None,
    distributed: bool | None = None,
    weights_id: str | None = None,
) -> DatasetScores:
    """Score every sample of ``dataset`` with every method in one pass over the data.

    Args:
        model: classifier in eval mode, on the device the scoring runs on (left unchanged).
        dataset: a `ScoreDataset` (items preprocessed for this model).
        methods: score methods with distinct names; methods that need fitting must be fitted
            (see `fit_methods`).
        batch_size: samples per forward pass.
        device: where inputs go; must be the model's device (default).
        num_workers: DataLoader worker processes; default 0 for in-memory sets, else up to 4.
        progress: called as ``progress(done, total)`` (samples) after each batch.
        progress_bar: show a tqdm bar (command line).
        cache: where finished chunks are stored and looked up; None = no caching.
        keep_channels: keep per-sample per-channel GAIA values (N, C); otherwise only their
            streamed statistics, which keeps memory bounded on large sets.
        chunk_size: samples per cached chunk; default about `CHUNK_SAMPLES`, in whole batches.
        distributed: split the work across an initialized process group; default: when one
            of more than one process is initialized. Every process gets the merged result.
        weights_id: the model's `weights_fingerprint` when already known.

    Returns:
        The per-sample table and per-channel values in dataset order (see `DatasetScores`).

    Raises:
        EmptyDatasetError: the dataset is empty or none of its samples could be read.
    """
    methods = list(methods)
    names = [m.name for m in methods]
    if not methods or len(set(names)) != len(names):
        raise ValueError(f"give at least one method, each once (got {names})")
    device = _input_device(model, device)
    total = len(dataset)
    if total == 0:
        raise EmptyDatasetError(f"dataset '{dataset.name}' is empty")
    context = dist.current_context() if distributed in (None, True) else None
    entry = None
    if cache is not None:
        weights_id = weights_id or weights_fingerprint(model)
        entry = cache.entry("scores", score_cache_parts(weights_id, dataset, methods, keep_channels))

    cached = []
    if entry is not None and (context is None or context.is_main):
        cached = _usable_chunks(entry.load_chunks(), total, names)
    covered = np.zeros(total, dtype=bool)
    for chunk in cached:
        covered[_chunk_indices(chunk)] = True
    remaining = np.flatnonzero(~covered)
    if context is not None:
        remaining = context.broadcast_object(remaining)
    mine = context.shard(remaining) if context is not None else remaining

    new_chunks = list(
        _score_indices(
            model,
            dataset,
            methods,
            mine,
            device,
            batch_size=batch_size,
            num_workers=num_workers,
            keep_channels=keep_channels,
            chunk_size=chunk_size or batch_size * max(1, math.ceil(CHUNK_SAMPLES / batch_size)),
            entry=entry,
            progress=progress,
            start=total - len(remaining),
            bar=progress_bar and (context is None or context.is_main),
            title=dataset.display_name,
            total=total - len(remaining) + len(mine),
        )
    )
    chunks = cached + new_chunks
    if context is not None:
        chunks = [c for part in context.all_gather_object(chunks) for c in part]
    scores = _assemble(dataset, names, chunks, keep_channels)
    scores.from_cache = total - len(remaining)
    scores.scored = len(remaining)
    if len(scores.table) == 0:
        first = scores.skipped[0]
        raise EmptyDatasetError(
            f"none of the {total} samples of '{dataset.name}' could be read "
            f"(first: {first.path or first.sample_id}: {first.reason})"
        )
    return scores


def _score_indices(
    model,
    dataset,
    methods,
    indices,
    device,
    *,
    batch_size,
    num_workers,
    keep_channels,
    chunk_size,
    entry,
    progress,
    start,
    bar,
    title,
    total,
) -> Iterator[dict[str, np.ndarray]]:
    """Score ``indices`` chunk by chunk, storing each finished chunk before yielding it."""
    pieces = [indices[i : i + chunk_size] for i in range(0, len(indices), chunk_size)]
    batches, owner = [], []
    for number, piece in enumerate(pieces):
        for i in range(0, len(piece), batch_size):
            batches.append(piece[i : i + batch_size].tolist())
            owner.append(number)
    done = start
    if progress is not None:
        progress(done, total)
    if not batches:
        return
    names = [m.name for m in methods]
    with tqdm(total=total, initial=done, desc=title, unit="img", disable=not bar, leave=False) as tracker:
        builder = _ChunkBuilder(names, keep_channels)
        loader = throughput.current().timed(batch_loader(dataset, batches, num_workers, device), _readable)
        for number, batch in enumerate(loader):
            results = None
            if batch["x"] is not None:
                x = batch["x"].to(device, non_blocking=True)
                results = fitting_batches(model, batch_size, x).run(lambda part: score_many(model, part, methods), x)
            builder.add(batch, results)
            if number + 1 == len(batches) or owner[number + 1] != owner[number]:
                chunk = builder.finish()
                if entry is not None:
                    entry.save_chunk(_chunk_name(_chunk_indices(chunk)), chunk)
                builder = _ChunkBuilder(names, keep_channels)
                yield chunk
            done += len(batches[number])
            tracker.update(len(batches[number]))
            if progress is not None:
                progress(done, total)


def _readable(batch: dict) -> int:
    return len(batch["index"])


def _assemble(dataset: ScoreDataset, methods: list[str], chunks: list[dict], keep_channels: bool) -> DatasetScores:
    """Merge chunks (in any order) into one result in dataset order."""
    chunks = sorted(chunks, key=lambda c: int(_chunk_indices(c).min()) if _chunk_indices(c).size else -1)
    index = np.concatenate([c["index"] for c in chunks]) if chunks else np.zeros(0, np.int64)
    if len(np.unique(index)) != len(index):
        raise RuntimeError("a sample was scored twice; the cache or the process split is inconsistent")
    order = np.argsort(index, kind="stable")

    def column(key: str) -> np.ndarray:
        return np.concatenate([c[key] for c in chunks])[order]

    table = pd.DataFrame(
        {
            "sample_id": column("sample_id").astype(str),
            "dataset": dataset.name,
            "index": index[order],
            "path": column("path").astype(str),
            "label": column("label"),
            "pred": column("pred"),
            "confidence": column("confidence").astype(np.float64),
            **{m: column(f"score|{m}").astype(np.float64) for m in methods},
        },
        columns=[*TABLE_COLUMNS, *methods],
    )
    channels: dict[str, dict[str, np.ndarray]] = {}
    stats: dict[str, dict[str, ChannelStats]] = {}
    layer_keys = dict.fromkeys(k for c in chunks for k in c if k.startswith(("ch|", "stat|")))
    for key in layer_keys:
        kind, method, layer, *rest = key.split("|")
        if kind == "ch":
            values = np.concatenate([c[key] for c in chunks if key in c])[order]
            if keep_channels:
                channels.setdefault(method, {})[layer] = values
            stats.setdefault(method, {})[layer] = ChannelStats.from_values(values)
        elif rest == ["count"]:
            merged = None
            for c in chunks:
                if key in c:
                    part = ChannelStats(int(c[key]), c[f"stat|{method}|{layer}|mean"], c[f"stat|{method}|{layer}|m2"])
                    merged = part if merged is None else merged.merge(part)
            stats.setdefault(method, {})[layer] = merged
    skipped = [
        SkippedSample(int(i), str(s), str(p), str(r))
        for c in chunks
        for i, s, p, r in zip(c["skip_index"], c["skip_sample_id"], c["skip_path"], c["skip_reason"])
    ]
    skipped.sort(key=lambda sample: sample.index)
    return DatasetScores(dataset.name, dataset.display_name, methods, table, channels, stats, skipped)
