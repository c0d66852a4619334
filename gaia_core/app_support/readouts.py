"""Attribution-concentration readouts of a dataset (the maps themselves are not kept)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from torch import nn

from gaia_core.attribution import AttributionConfig, attribute
from gaia_core.attribution.readout import READOUTS
from gaia_core.data.base import ScoreDataset, evenly_spaced
from gaia_core.data.images import dataset_inputs
from gaia_core.device import model_device
from gaia_core.errors import GaiaError
from gaia_core.evaluation.metrics import ood_metrics
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


# Where a readout's AUROC is folded, the pages say so with this.
FOLDED = "folded: max(AUROC, 1 − AUROC)"
# Whether a higher value of each readout means a more concentrated map (entropy: more spread).
HIGHER_IS_CONCENTRATED = {"sparsity": True, "entropy": False, "top_mass": True}


@dataclass(frozen=True)
class Separation:
    """How well a readout tells one OOD set from the ID set.

    Attributes:
        auroc: AUROC with the readout as the OOD score (higher readout = OOD), ID positive as in
            `gaia_core.evaluation.metrics.ood_metrics`: P(OOD readout > ID readout), ties half.
        ood_more_concentrated: True when OOD maps tend to be more concentrated than ID maps.
    """

    auroc: float
    ood_more_concentrated: bool

    @property
    def best_auroc(self) -> float:
        """The AUROC in the readout's better direction, in [0.5, 1] (folded: max(AUROC, 1 − AUROC))."""
        return max(self.auroc, 1.0 - self.auroc)

    def describe(self, name: str) -> str:
        """``"letters: AUROC 83.0% (folded: max(AUROC, 1 − AUROC)), OOD more concentrated"``: percent with
        one decimal, as every AUROC the app shows, and saying it is folded."""
        return f"{name}: AUROC {100 * self.best_auroc:.1f}% ({FOLDED}), OOD {self._way} concentrated"

    def short(self, name: str) -> str:
        """``"letters 83.0% (OOD more concentrated)"``, for a list of sets after "AUROC (folded: ...)"."""
        return f"{name} {100 * self.best_auroc:.1f}% (OOD {self._way} concentrated)"

    @property
    def _way(self) -> str:
        return "more" if self.ood_more_concentrated else "less"


def readout_separation(values: Mapping[str, np.ndarray], id_name: str, readout: str) -> dict[str, Separation | None]:
    """AUROC of ID against each OOD set on one readout, and which way the OOD maps lean.

    Args:
        values: set name -> (n_set,) readout per image, NaN for maps without one (left out).
        id_name: the ID set, a key of ``values``.
        readout: the readout's name (a key of `HIGHER_IS_CONCENTRATED`).

    Returns:
        OOD set name -> its `Separation`, or None where a set has no readout at all.
    """
    if readout not in HIGHER_IS_CONCENTRATED:
        raise GaiaError(f"unknown readout {readout!r}; known: {', '.join(HIGHER_IS_CONCENTRATED)}")
    if id_name not in values:
        raise GaiaError(f"the ID set {id_name!r} has no readouts")

    def finite(name: str) -> np.ndarray:
        array = np.asarray(values[name], dtype=np.float64).ravel()
        return array[np.isfinite(array)]

    id_values, result = finite(id_name), {}
    for name in values:
        if name == id_name:
            continue
        ood_values = finite(name)
        if id_values.size == 0 or ood_values.size == 0:
            result[name] = None
            continue
        auroc = ood_metrics(id_values, ood_values)["auroc"]
        result[name] = Separation(auroc, (auroc > 0.5) == HIGHER_IS_CONCENTRATED[readout])
    return result
