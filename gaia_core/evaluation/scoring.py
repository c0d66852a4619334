"""Batch scoring: every sample of a dataset scored by several methods in one pass over the data.

Per batch, `gaia_core.scores.score_many` shares the work between methods (one forward for the
logit-based scores, one graph for GAIA-A and GAIA-Z). Samples are processed in chunks
(`gaia_core.evaluation.chunks`); each finished chunk is stored in the cache (when one is
given), so a second run reads everything back without scoring and an interrupted run resumes
after its last finished chunk. Files that cannot be read are skipped and reported. Under
torchrun the samples are split across processes and the results merged (see
`gaia_core.evaluation.distributed`). What comes back is a `gaia_core.evaluation.results.DatasetScores`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from gaia_core.data.base import EmptyDatasetError, ScoreDataset
from gaia_core.device import model_device
from gaia_core.errors import ConfigError
from gaia_core.evaluation import distributed as dist
from gaia_core.evaluation import throughput
from gaia_core.evaluation.batching import fitting_batches
from gaia_core.evaluation.cache import CacheEntry, ScoreCache
from gaia_core.evaluation.chunks import CACHE_FORMAT, Chunk, ChunkBuilder
from gaia_core.evaluation.code_version import code_version
from gaia_core.evaluation.loading import batch_loader
from gaia_core.evaluation.results import TABLE_COLUMNS, ChannelStats, DatasetScores
from gaia_core.models import weights_fingerprint
from gaia_core.progress import Progress
from gaia_core.scores import ScoreMethod, score_many

# Samples per cached chunk (rounded up to whole batches): the granularity of resuming.
CHUNK_SAMPLES = 1024


def _input_device(model: nn.Module, device: torch.device | str | None) -> torch.device:
    """The model's device; a differing ``device`` is an error (the model is never moved here)."""
    here = model_device(model)
    if device is not None:
        asked = torch.device(device)
        if asked.type != here.type or (asked.index is not None and asked.index != here.index):
            raise ConfigError(f"the model is on {here} but device={device} was asked; move the model first")
    return here


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


def _usable_chunks(chunks: list[Chunk], total: int, methods: Sequence[str]) -> list[Chunk]:
    """Chunks that fit this dataset and method list and do not overlap an earlier chunk."""
    seen = np.zeros(total, dtype=bool)
    usable = []
    for chunk in chunks:
        indices = chunk.indices
        if not chunk.has_scores(methods) or (indices.size and indices.max() >= total):
            continue
        if seen[indices].any():
            continue
        seen[indices] = True
        usable.append(chunk)
    return usable


@dataclass(frozen=True, eq=False)
class _Shard:
    """The samples one process scores, and how (what `_score_indices` needs)."""

    # Classifier in eval mode, on ``device``.
    model: nn.Module
    # The dataset the indices refer to.
    dataset: ScoreDataset
    # Score methods with distinct names, fitted where they need it.
    methods: tuple[ScoreMethod, ...]
    # Dataset positions to score, in order.
    indices: np.ndarray
    # Where the inputs go: the model's device.
    device: torch.device
    # Samples per forward pass.
    batch_size: int
    # DataLoader worker processes; None = the default for the dataset.
    num_workers: int | None
    # Store every sample's channel values (else only their statistics).
    keep_channels: bool
    # Samples per cached chunk, in whole batches.
    chunk_size: int
    # Where finished chunks are stored; None = no caching.
    entry: CacheEntry | None
    # Called as progress(done, total) after each batch.
    progress: Progress | None
    # Samples done before this shard starts (read from the cache).
    start: int
    # Samples this process reports in all (``start`` + its shard).
    total: int
    # Show a tqdm bar.
    bar: bool
    # The bar's label.
    title: str


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
        cached = _usable_chunks([Chunk(arrays) for arrays in entry.load_chunks()], total, names)
    covered = np.zeros(total, dtype=bool)
    for chunk in cached:
        covered[chunk.indices] = True
    remaining = np.flatnonzero(~covered)
    if context is not None:
        remaining = context.broadcast_object(remaining)
    mine = context.shard(remaining) if context is not None else remaining

    shard = _Shard(
        model=model,
        dataset=dataset,
        methods=tuple(methods),
        indices=mine,
        device=device,
        batch_size=batch_size,
        num_workers=num_workers,
        keep_channels=keep_channels,
        chunk_size=chunk_size or batch_size * max(1, math.ceil(CHUNK_SAMPLES / batch_size)),
        entry=entry,
        progress=progress,
        start=total - len(remaining),
        total=total - len(remaining) + len(mine),
        bar=progress_bar and (context is None or context.is_main),
        title=dataset.display_name,
    )
    new_chunks = list(_score_indices(shard))
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


def _score_indices(shard: _Shard) -> Iterator[Chunk]:
    """Score the shard's indices chunk by chunk, storing each finished chunk before yielding it."""
    indices, chunk_size, batch_size = shard.indices, shard.chunk_size, shard.batch_size
    pieces = [indices[i : i + chunk_size] for i in range(0, len(indices), chunk_size)]
    batches, owner = [], []
    for number, piece in enumerate(pieces):
        for i in range(0, len(piece), batch_size):
            batches.append(piece[i : i + batch_size].tolist())
            owner.append(number)
    done, total, progress = shard.start, shard.total, shard.progress
    if progress is not None:
        progress(done, total)
    if not batches:
        return
    names = [m.name for m in shard.methods]
    with tqdm(total=total, initial=done, desc=shard.title, unit="img", disable=not shard.bar, leave=False) as tracker:
        builder = ChunkBuilder(names, shard.keep_channels)
        loader = throughput.current().timed(
            batch_loader(shard.dataset, batches, shard.num_workers, shard.device), _readable
        )
        for number, batch in enumerate(loader):
            results = None
            if batch["x"] is not None:
                x = batch["x"].to(shard.device, non_blocking=True)
                results = fitting_batches(shard.model, shard.batch_size, x).run(
                    lambda part: score_many(shard.model, part, shard.methods), x
                )
            builder.add(batch, results)
            if number + 1 == len(batches) or owner[number + 1] != owner[number]:
                chunk = builder.finish()
                if shard.entry is not None:
                    shard.entry.save_chunk(chunk.file_name, chunk.arrays)
                builder = ChunkBuilder(names, shard.keep_channels)
                yield chunk
            done += len(batches[number])
            tracker.update(len(batches[number]))
            if progress is not None:
                progress(done, total)


def _readable(batch: dict) -> int:
    return len(batch["index"])


def _assemble(dataset: ScoreDataset, methods: list[str], chunks: list[Chunk], keep_channels: bool) -> DatasetScores:
    """Merge chunks (in any order) into one result in dataset order."""
    chunks = sorted(chunks, key=lambda c: int(c.indices.min()) if c.indices.size else -1)
    index = np.concatenate([c.column("index") for c in chunks]) if chunks else np.zeros(0, np.int64)
    if len(np.unique(index)) != len(index):
        raise RuntimeError("a sample was scored twice; the cache or the process split is inconsistent")
    order = np.argsort(index, kind="stable")

    def column(name: str) -> np.ndarray:
        return np.concatenate([c.column(name) for c in chunks])[order]

    table = pd.DataFrame(
        {
            "sample_id": column("sample_id").astype(str),
            "dataset": dataset.name,
            "index": index[order],
            "path": column("path").astype(str),
            "label": column("label"),
            "pred": column("pred"),
            "confidence": column("confidence").astype(np.float64),
            **{m: np.concatenate([c.scores(m) for c in chunks])[order].astype(np.float64) for m in methods},
        },
        columns=[*TABLE_COLUMNS, *methods],
    )
    channels: dict[str, dict[str, np.ndarray]] = {}
    stats: dict[str, dict[str, ChannelStats]] = {}
    for method, layer, kept in dict.fromkeys(layer for c in chunks for layer in c.layers()):
        if kept:
            parts = [c.channels(method, layer) for c in chunks]
            values = np.concatenate([p for p in parts if p is not None])[order]
            if keep_channels:
                channels.setdefault(method, {})[layer] = values
            stats.setdefault(method, {})[layer] = ChannelStats.from_values(values)
        else:
            merged = None
            for part in (c.stats(method, layer) for c in chunks):
                if part is not None:
                    merged = part if merged is None else merged.merge(part)
            stats.setdefault(method, {})[layer] = merged
    skipped = sorted((s for c in chunks for s in c.skipped()), key=lambda sample: sample.index)
    return DatasetScores(dataset.name, dataset.display_name, methods, table, channels, stats, skipped)
