"""Attribution-concentration readouts of a dataset (the maps themselves are not kept)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from torch import nn

from gaia_core.app_support.images import dataset_inputs
from gaia_core.attribution import AttributionConfig, attribute
from gaia_core.attribution.readout import READOUTS
from gaia_core.data.base import ScoreDataset, evenly_spaced
from gaia_core.device import model_device
from gaia_core.progress import Progress


@dataclass(frozen=True)
class Readouts:
    """Attribution-concentration readouts of some images of one set.

    Attributes:
        sample_ids: (n,) ids of the images, in dataset order.
        values: readout name (see `gaia_core.attribution.readout.READOUTS`) -> (n,) float64,
            NaN for maps that are zero everywhere.
    """

    sample_ids: list[str]
    values: dict[str, np.ndarray]


def attribution_readouts(
    model: nn.Module,
    dataset: ScoreDataset,
    config: AttributionConfig,
    max_samples: int = 100,
    progress: Progress | None = None,
) -> Readouts:
    """Attribution maps of up to ``max_samples`` images spread evenly over ``dataset``, reduced
    to every registered concentration readout (the maps themselves are not kept).

    Args:
        model: classifier in eval mode (not modified; attribution runs on a private copy).
        dataset: a `ScoreDataset` preprocessed for the model.
        config: which attribution method and its settings.
        max_samples: images used, at most.
        progress: called as ``progress(images done, images in total)``.
    """
    subset = evenly_spaced(dataset, max_samples)
    x, ids = dataset_inputs(subset, range(len(subset)))
    maps = attribute(model, x.to(model_device(model)), config, progress=progress).maps
    return Readouts(ids, {name: np.atleast_1d(r.compute(maps)).astype(np.float64) for name, r in READOUTS.items()})
