"""What every dataset of the project is: indexed samples with an id, a label and a fingerprint.

A dataset item is a `Sample` (image (C, H, W) normalized for the model, label (-1 unknown),
sample id (unique within the set), path ("" when none)). A file that cannot be read raises
`UnreadableSample`; the batch scorer skips and reports such samples instead of failing.
"""

from __future__ import annotations

import bisect
import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset

from gaia_core.errors import GaiaError
from gaia_core.safety.images import ImageRejected, load_image

ImageLoader = Callable[[bytes, str], Image.Image]


class DataError(GaiaError):
    """Base class of the data layer's errors; the message says what is wrong and what to do."""


class DatasetNotFound(DataError):
    """A dataset is not on disk (or not where it was looked for)."""


class EmptyDatasetError(DataError):
    """A dataset holds no samples, or none that could be read."""


class LabelMismatchError(DataError):
    """The model's class count does not fit the dataset's labels."""


class UnreadableSample(DataError):
    """One sample's file is missing, corrupt or refused; the scorer skips it and reports it."""

    def __init__(self, sample_id: str, path: str, reason: str):
        super().__init__(f"{path or sample_id}: {reason}")
        self.sample_id = sample_id
        self.path = path
        self.reason = reason


class Sample(NamedTuple):
    """One dataset item."""

    image: Tensor  # (C, H, W) float32, normalized for the model
    label: int  # class index, -1 when unknown (OOD sets)
    sample_id: str  # unique within the dataset
    path: str  # file path, "" for in-memory samples


class ScoreDataset(Dataset):
    """Base of the project's datasets.

    Subclasses set ``name`` and ``transform``, implement ``__len__``, ``__getitem__`` (a
    `Sample`, or `UnreadableSample` raised), ``labels`` and ``_content_digest``.
    """

    name: str
    transform: Callable[[Any], Tensor]
    # Name for tables and charts ("SVHN"); empty = ``name``.
    title: str = ""
    # True when all samples are in memory (no point in DataLoader workers).
    in_memory: bool = False

    @property
    def display_name(self) -> str:
        return self.title or self.name

    def __len__(self) -> int:
        raise NotImplementedError

    def __getitem__(self, index: int) -> Sample:
        raise NotImplementedError

    def labels(self) -> np.ndarray:
        """(N,) int64 labels of all samples, known without reading any image (-1 unknown)."""
        raise NotImplementedError

    def _content_digest(self, digest: hashlib._Hash) -> None:
        """Feed what identifies the samples (names, sizes, bytes) into ``digest``."""
        raise NotImplementedError

    def fingerprint(self) -> str:
        """sha256 over the samples' identity and the transform: changes when either changes."""
        digest = hashlib.sha256()
        identity = {"kind": type(self).__name__, "name": self.name, "transform": repr(self.transform)}
        digest.update(json.dumps(identity).encode())
        self._content_digest(digest)
        return digest.hexdigest()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, size={len(self)})"


def safe_image_loader(data: bytes, name: str) -> Image.Image:
    """The project's guarded image decoder (`gaia_core.safety.images.load_image`)."""
    return load_image(data, name)


def unreadable_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean "this one file is bad" (skip it), as opposed to a bug."""
    return (OSError, ValueError, SyntaxError, Image.DecompressionBombError, ImageRejected)


def check_not_empty(dataset: ScoreDataset, where: str) -> None:
    if len(dataset) == 0:
        raise EmptyDatasetError(f"dataset '{dataset.name}' is empty: no samples found in {where}.")


class SubsetDataset(ScoreDataset):
    """Some samples of another dataset, in the given order (e.g. an evenly spaced sample)."""

    def __init__(self, parent: ScoreDataset, indices: Sequence[int]):
        self.parent = parent
        self.indices = np.asarray(indices, dtype=np.int64)
        if self.indices.size and (self.indices.min() < 0 or self.indices.max() >= len(parent)):
            raise IndexError(f"subset indices out of range for '{parent.name}' ({len(parent)} samples)")
        self.name = parent.name
        self.title = parent.title
        self.transform = parent.transform
        self.in_memory = parent.in_memory
        check_not_empty(self, f"the subset of '{parent.name}'")

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> Sample:
        return self.parent[int(self.indices[index])]

    def labels(self) -> np.ndarray:
        return self.parent.labels()[self.indices]

    def fingerprint(self) -> str:
        digest = hashlib.sha256(f"subset|{self.parent.fingerprint()}|".encode())
        digest.update(memoryview(self.indices).cast("B"))
        return digest.hexdigest()


class JoinedDataset(ScoreDataset):
    """Several datasets one after another, as one (each item keeps its image, label and path).

    Args:
        parts: the datasets, in order.
        name: the joined dataset's name.
        sample_ids: one id per item (unique), in place of the parts' own; None = the parts' ids.
    """

    def __init__(self, parts: Sequence[ScoreDataset], name: str, sample_ids: Sequence[str] | None = None):
        self.parts = list(parts)
        self.name = name
        self.transform = tuple(part.transform for part in self.parts)
        self.in_memory = all(part.in_memory for part in self.parts)
        self._starts = list(np.cumsum([0, *(len(part) for part in self.parts)]))
        self.sample_ids = None if sample_ids is None else [str(s) for s in sample_ids]
        if self.sample_ids is not None and len(self.sample_ids) != len(self):
            raise ValueError(f"{len(self)} items but {len(self.sample_ids)} sample ids")
        check_not_empty(self, "the joined datasets")

    def __len__(self) -> int:
        return int(self._starts[-1])

    def locate(self, index: int) -> tuple[int, int]:
        """(which part, index in that part) of item ``index``."""
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for '{self.name}' ({len(self)} samples)")
        part = bisect.bisect_right(self._starts, index) - 1
        return part, index - int(self._starts[part])

    def __getitem__(self, index: int) -> Sample:
        part, inner = self.locate(int(index))
        sample = self.parts[part][inner]
        return sample if self.sample_ids is None else sample._replace(sample_id=self.sample_ids[index])

    def labels(self) -> np.ndarray:
        return np.concatenate([part.labels() for part in self.parts]).astype(np.int64)

    def fingerprint(self) -> str:
        identity = {"parts": [part.fingerprint() for part in self.parts], "ids": self.sample_ids}
        return hashlib.sha256(f"joined|{self.name}|{json.dumps(identity)}".encode()).hexdigest()


def evenly_spaced(dataset: ScoreDataset, max_samples: int | None) -> ScoreDataset:
    """At most ``max_samples`` samples spread evenly over ``dataset`` (itself when it is small enough)."""
    if max_samples is None or len(dataset) <= max_samples:
        return dataset
    if max_samples < 1:
        raise ValueError("max_samples must be at least 1")
    return SubsetDataset(dataset, np.linspace(0, len(dataset) - 1, max_samples).round().astype(np.int64))
