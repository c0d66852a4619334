"""Fitting the score methods that need ID data (ReAct's clipping percentile), cached and shared
by every process of a torchrun job."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence

import torch
from torch import nn

from gaia_core.data.base import EmptyDatasetError, ScoreDataset, evenly_spaced
from gaia_core.device import model_device
from gaia_core.evaluation import distributed as dist
from gaia_core.evaluation.cache import ScoreCache
from gaia_core.evaluation.code_version import code_version
from gaia_core.evaluation.loading import batch_loader
from gaia_core.evaluation.scoring import method_config
from gaia_core.models import weights_fingerprint
from gaia_core.scores import ScoreMethod


def fit_methods(
    model: nn.Module,
    methods: Sequence[ScoreMethod],
    id_dataset: ScoreDataset,
    *,
    max_samples: int = 2000,
    batch_size: int = 64,
    num_workers: int | None = None,
    cache: ScoreCache | None = None,
    weights_id: str | None = None,
) -> list[ScoreMethod]:
    """Methods that need fitting (ReAct) fitted on ID data; the others returned as they are.

    Args:
        id_dataset: in-distribution samples (ideally not the ones evaluated on).
        max_samples: at most this many samples, evenly spread over ``id_dataset``, are used.
        cache: where fitted states are stored and looked up.

    Under an initialized process group every process gets the main process's fit.
    """
    methods = list(methods)
    if not any(m.needs_fit for m in methods):
        return methods
    context = dist.current_context()
    device = model_device(model)
    subset = evenly_spaced(id_dataset, max_samples)
    entry = None
    if cache is not None:
        weights_id = weights_id or weights_fingerprint(model)
        entry = cache.entry(
            "fit",
            {
                "weights": weights_id,
                "dataset": subset.fingerprint(),
                "methods": [method_config(m) for m in methods if m.needs_fit],
                "version": code_version(),
            },
        )
    changes = None
    if context is None or context.is_main:
        changes = entry.load_json("fitted") if entry is not None else None
        if changes is None:
            changes = _fit_changes(model, methods, subset, batch_size, num_workers, device)
            if entry is not None:
                entry.save_json("fitted", changes)
    if context is not None:
        changes = context.broadcast_object(changes)
    return [dataclasses.replace(m, **changes[m.name]) if m.name in changes else m for m in methods]


def _fit_changes(model, methods, subset, batch_size, num_workers, device) -> dict[str, dict]:
    """Method name -> the fields its fit changed (JSON-able), for each method that needs a fit."""
    batches = [list(range(i, min(i + batch_size, len(subset)))) for i in range(0, len(subset), batch_size)]

    def id_batches() -> Iterator[torch.Tensor]:
        read = False
        for batch in batch_loader(subset, batches, num_workers, device):
            if batch["x"] is not None:
                read = True
                yield batch["x"].to(device, non_blocking=True)
        if not read:
            fitted = ", ".join(m.label for m in methods if m.needs_fit)
            raise EmptyDatasetError(
                f"none of the {len(subset)} samples of '{subset.name}' that {fitted} is fitted on could be read"
            )

    changes = {}
    for method in methods:
        if method.needs_fit:
            fitted = method.fit(model, id_batches())
            changes[method.name] = {k: v for k, v in dataclasses.asdict(fitted).items() if getattr(method, k) != v}
    return changes
