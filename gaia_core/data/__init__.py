"""Datasets for batch scoring: the demo's sets, torchvision's, image folders, OpenOOD lists, uploads.

Every dataset yields `Sample(image, label, sample_id, path)` with the image preprocessed for
the model (see `gaia_core.data.transforms`), and has a ``name`` and a stable ``fingerprint()``.
Nothing is downloaded unless ``download=True`` is passed.
"""

from gaia_core.data.arrays import ArrayDataset, demo_dataset
from gaia_core.data.base import (
    DataError,
    DatasetNotFound,
    EmptyDatasetError,
    ImageLoader,
    JoinedDataset,
    LabelMismatchError,
    Sample,
    ScoreDataset,
    SubsetDataset,
    UnreadableSample,
    evenly_spaced,
    safe_image_loader,
)
from gaia_core.data.files import ImageFilesDataset, UploadedImages, image_folder, image_list
from gaia_core.data.presets import (
    PRESETS,
    Preset,
    check_preset_fits,
    default_fit_set,
    get_preset,
    resolve_dataset,
)
from gaia_core.data.sources import SOURCES, Source, open_source
from gaia_core.data.transforms import array_transform, image_transform

__all__ = [
    "PRESETS",
    "SOURCES",
    "ArrayDataset",
    "DataError",
    "DatasetNotFound",
    "EmptyDatasetError",
    "ImageFilesDataset",
    "ImageLoader",
    "JoinedDataset",
    "LabelMismatchError",
    "Preset",
    "Sample",
    "ScoreDataset",
    "Source",
    "SubsetDataset",
    "UnreadableSample",
    "UploadedImages",
    "array_transform",
    "check_preset_fits",
    "default_fit_set",
    "demo_dataset",
    "evenly_spaced",
    "get_preset",
    "image_folder",
    "image_list",
    "image_transform",
    "open_source",
    "resolve_dataset",
    "safe_image_loader",
]
