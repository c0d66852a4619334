"""OOD score methods, one registry by name.

Convention for every score in gaia_core: a score is an abnormality, **higher = more
likely out-of-distribution**. Methods whose paper defines an ID-ness (MSP, MaxLogit,
energy's negative, ODIN, GradNorm, ReAct) are negated accordingly.

Tables and charts list methods in `METHOD_ORDER` (`available()`), whatever the import order.
"""

from gaia_core.scores.base import (
    METHOD_ORDER,
    ScoreMethod,
    ScoreResult,
    available,
    channel_quantity,
    create,
    create_for_model,
    method_class,
    method_label,
    register,
)
from gaia_core.scores.energy import Energy
from gaia_core.scores.gaia_a import GaiaA, gaia_a
from gaia_core.scores.gaia_z import GaiaZ, gaia_z
from gaia_core.scores.gradnorm import GradNorm
from gaia_core.scores.many import score_many
from gaia_core.scores.maxlogit import MaxLogit
from gaia_core.scores.msp import MSP
from gaia_core.scores.odin import ODIN
from gaia_core.scores.react import NotFittedError, ReAct

GAIA_METHODS = ("gaia_a", "gaia_z")

GAIA_METHODS = ("gaia_a", "gaia_z")

__all__ = [
    "GAIA_METHODS",
    "METHOD_ORDER",
    "MSP",
    "ODIN",
    "Energy",
    "GaiaA",
    "GaiaZ",
    "GradNorm",
    "MaxLogit",
    "NotFittedError",
    "ReAct",
    "ScoreMethod",
    "ScoreResult",
    "available",
    "channel_quantity",
    "create",
    "create_for_model",
    "gaia_a",
    "gaia_z",
    "method_class",
    "method_label",
    "register",
    "score_many",
]
