"""The images Inspect images scores: uploads through the upload transform, then picked demo samples
as their set's own pixels through the model's array transform, so that a sample has the input (and
the scores) it has on every other page (its PNG is an 8-bit rounding of those pixels)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from torch import Tensor

from gaia_core.data import ArrayDataset, JoinedDataset, UploadedImages
from gaia_core.data.naming import DemoSample
from gaia_core.teaching.images import sample_pixels


def inspected_images(
    uploads: Sequence[tuple[str, bytes]],
    upload_transform: Callable[[Any], Tensor],
    samples: Sequence[DemoSample],
    pixel_transform: Callable[[Tensor], Tensor],
) -> JoinedDataset:
    """Uploads, then samples, as one dataset: an upload is named by its file name (made unique with
    ``#k``), a sample by its set and index ("digits #0") and labelled with its true class.

    Args:
        uploads: (file name, bytes) pairs the guarded decoder accepted.
        upload_transform: PIL image -> model input (C, H, W) (`gaia_core.data.preprocessing.upload_transform`).
        samples: the picked demo samples.
        pixel_transform: float pixels (C, H, W) in [0, 1] -> model input
            (`gaia_core.data.preprocessing.pixel_transform`).
    """
    parts, ids = [], []
    if uploads:
        uploaded = UploadedImages(uploads, upload_transform, name="uploaded")
        parts.append(uploaded)
        ids += uploaded.sample_ids
    if samples:
        pixels = np.stack([sample_pixels(sample) for sample in samples])
        labels = np.array([sample.label for sample in samples], dtype=np.int64)
        parts.append(ArrayDataset(pixels, labels, "samples", pixel_transform))
        ids += [sample.name for sample in samples]
    return JoinedDataset(parts, "inspected", ids)


def upload_file_name(dataset: JoinedDataset, index: int) -> str | None:
    """The file name of item ``index`` of an `inspected_images` dataset; None for a demo sample."""
    part, inner = dataset.locate(index)
    found = dataset.parts[part]
    return found.files[inner][0] if isinstance(found, UploadedImages) else None
