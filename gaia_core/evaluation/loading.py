"""DataLoader plumbing of batch scoring and fitting: batches of dataset items in a given order,
read by worker processes for on-disk sets, with unreadable files listed instead of raised."""

from __future__ import annotations

import os

import torch
from torch.utils.data import DataLoader, Dataset

from gaia_core.data.base import DataError, ScoreDataset, UnreadableSample


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
