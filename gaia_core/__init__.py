"""GAIA Explorer's library: OOD scores from attribution-gradient abnormality.

`gaia_core` does all the math (scores, models, data, charts, attribution) and never
imports streamlit. The score convention lives in `gaia_core.scores`.

The public API is re-exported here and imported on first use, so that ``import gaia_core``
stays light (the command line starts before torch is loaded)::

    from gaia_core import gaia_z, gaia_a, create, score_many, ood_metrics, load_model
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

_EXPORTS = {
    "gaia_a": "gaia_core.scores",
    "gaia_z": "gaia_core.scores",
    "create": "gaia_core.scores",
    "available": "gaia_core.scores",
    "score_many": "gaia_core.scores",
    "ScoreMethod": "gaia_core.scores",
    "ScoreResult": "gaia_core.scores",
    "ood_metrics": "gaia_core.evaluation.metrics",
    "load_model": "gaia_core.models",
    "GaiaError": "gaia_core.errors",
}
__all__ = [
    "GaiaError",
    "ScoreMethod",
    "ScoreResult",
    "__version__",
    "available",
    "create",
    "gaia_a",
    "gaia_z",
    "load_model",
    "ood_metrics",
    "score_many",
]

if TYPE_CHECKING:
    from gaia_core.errors import GaiaError
    from gaia_core.evaluation.metrics import ood_metrics
    from gaia_core.models import load_model
    from gaia_core.scores import ScoreMethod, ScoreResult, available, create, gaia_a, gaia_z, score_many


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'gaia_core' has no attribute {name!r}")
