"""What a run checks about a model before scoring, remembered in the score cache by the weights'
fingerprint, so that a rerun whose scores are all cached does not run the model at all.

On a cache hit the scores cost a file read; the checks around them (the model's number of classes
for the label check, GAIA's applicability probe) were the only model passes left, and a first pass
is the slow one (lazily built kernels, and on a busy machine intra-op threads waiting on each other).
Which methods can score the model at all (`applicable_methods`) is remembered the same way.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any

import torch
from torch import nn

from gaia_core.data.base import ScoreDataset, UnreadableSample
from gaia_core.device import model_device
from gaia_core.evaluation.cache import ScoreCache
from gaia_core.evaluation.code_version import code_version
from gaia_core.evaluation.scoring import method_config
from gaia_core.models import weights_fingerprint
from gaia_core.scores.applicability import ApplicabilityReport, applicable_methods, check_applicability
from gaia_core.scores.base import ScoreMethod


def remembered(
    cache: ScoreCache | None, weights_id: str | None, model: nn.Module, name: str, compute: Callable[[], Any]
) -> Any:
    """``compute()`` (a JSON value that depends only on the model and ``name``), read from the cache
    when an earlier run stored it; computed (and stored, unless None) otherwise. Without a cache:
    computed."""
    if cache is None:
        return compute()
    entry = cache.entry("model", {"weights": weights_id or weights_fingerprint(model), "version": code_version()})
    stored = entry.load_json(name)
    if stored is not None:
        return stored["value"]
    value = compute()
    if value is not None:
        entry.save_json(name, {"value": value})
    return value


def readable_images(dataset: ScoreDataset, count: int) -> torch.Tensor | None:
    """The first ``count`` samples of ``dataset`` that can be read, stacked: (N, C, H, W) with
    N <= count; unreadable files are passed over. None when none can be read."""
    images = []
    for index in range(len(dataset)):
        try:
            images.append(dataset[index].image)
        except UnreadableSample:
            continue
        if len(images) == count:
            break
    return torch.stack(images) if images else None


def applicability(
    model: nn.Module,
    dataset: ScoreDataset,
    cache: ScoreCache | None = None,
    weights_id: str | None = None,
    images: int = 4,
) -> ApplicabilityReport | None:
    """`check_applicability` on the first ``images`` readable samples of ``dataset`` (None when it
    has none), remembered per weights and data set."""

    def compute() -> dict | None:
        x = readable_images(dataset, images)
        if x is None:
            return None
        return asdict(check_applicability(model, x.to(model_device(model))))

    name = "" if cache is None else f"applicability-{dataset.fingerprint()[:16]}-{images}"  # no cache: no key
    stored = remembered(cache, weights_id, model, name, compute)
    if stored is None:
        return None
    # JSON gives lists back: the report's sequences are tuples.
    return ApplicabilityReport(**{k: tuple(v) if isinstance(v, list) else v for k, v in stored.items()})


def usable_methods(
    model: nn.Module,
    dataset: ScoreDataset,
    methods: Sequence[ScoreMethod],
    cache: ScoreCache | None = None,
    weights_id: str | None = None,
    images: int = 4,
) -> tuple[list[ScoreMethod], tuple[str, ...]]:
    """`applicable_methods` on the first ``images`` readable samples of ``dataset``, remembered per
    weights, data set and method settings: (the methods that apply, in order; one line per method
    left out). Every method is kept when no sample is readable (the scoring then says so)."""

    def compute() -> dict:
        x = readable_images(dataset, images)
        if x is None:
            return {"kept": list(range(len(methods))), "notes": []}
        kept, notes = applicable_methods(model, methods, x.to(model_device(model)))
        return {"kept": [i for i, m in enumerate(methods) if any(m is k for k in kept)], "notes": notes}

    key = ""
    if cache is not None:
        configs = json.dumps([method_config(m) for m in methods], sort_keys=True, default=str)
        key = f"methods-{dataset.fingerprint()[:16]}-{images}-{hashlib.sha256(configs.encode()).hexdigest()[:16]}"
    stored = remembered(cache, weights_id, model, key, compute)
    return [methods[i] for i in stored["kept"]], tuple(stored["notes"])
