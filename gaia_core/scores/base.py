"""The score-method interface and the one registry of methods by name."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import ClassVar, TypeVar

import torch
from torch import Tensor, nn

from gaia_core.errors import ConfigError, UnknownNameError
from gaia_core.scores.probe import Probe, ProbePlan, run_probe


@dataclass(frozen=True)
class ScoreResult:
    """Scores for one batch.

    Attributes:
        score: (B,) abnormality, higher = more likely OOD.
        logits: (B, K) the model's logits for the (unperturbed) input.
        channels: layer name -> (B, C_layer) per-channel values (GAIA methods only).
    """

    score: Tensor
    logits: Tensor
    channels: dict[str, Tensor] = field(default_factory=dict)


M = TypeVar("M", bound="ScoreMethod")


def mean_square(channels: dict[str, Tensor]) -> Tensor:
    """GAIA's aggregation: the mean over every channel of every layer of the squared value.

    Args:
        channels: layer -> (B, C_layer) per-channel values.

    Returns:
        (B,) scores.
    """
    return torch.cat(list(channels.values()), dim=1).pow(2).mean(dim=1)


@dataclass(frozen=True)
class ScoreMethod:
    """Base of every score method: a frozen config that scores a batch.

    Subclasses set ``name``, implement ``plan`` and ``from_probe`` (methods that share the
    probe's forward pass) or override ``__call__`` (methods that need their own passes).
    """

    name: ClassVar[str]
    label: ClassVar[str]  # human-readable name
    needs_fit: ClassVar[bool] = False
    shares_forward: ClassVar[bool] = True

    def __call__(self, model: nn.Module, x: Tensor) -> ScoreResult:
        """Scores of one batch x (B, C, H, W) from one probe (what `score_many` does for one method)."""
        return self.from_probe(run_probe(model, x, self.plan(model)))

    def plan(self, model: nn.Module) -> ProbePlan:
        return ProbePlan()

    def from_probe(self, probe: Probe) -> ScoreResult:
        raise NotImplementedError(f"{type(self).__name__} does not share the probe's forward pass")

    def fit(self: M, model: nn.Module, batches: Iterable[Tensor]) -> M:
        """A copy fitted on in-distribution batches of x (B, C, H, W); methods without fitting return self."""
        return self


_REGISTRY: dict[str, type[ScoreMethod]] = {}
# The order of `available()`, so of every table and chart: GAIA first, then the baselines from
# the oldest. Methods registered from outside the package follow, in the order they register.
METHOD_ORDER = ("gaia_a", "gaia_z", "msp", "maxlogit", "energy", "odin", "gradnorm", "react")
# Per GAIA method, the per-channel value whose squares it averages, as labels and axis titles
# write it (GAIA-Z: the non-zero ratio r_c; GAIA-A: the channel average u_c over the output's o),
# and that value's mean over a layer's channels.
_CHANNEL_QUANTITIES = {"gaia_z": ("r_c", "r̄"), "gaia_a": ("u_c / o", "ū/o")}


def register(cls: type[M]) -> type[M]:
    if cls.name in _REGISTRY:
        raise ValueError(f"score method '{cls.name}' is registered twice")
    _REGISTRY[cls.name] = cls
    return cls


def available() -> list[str]:
    """Registered method names in `METHOD_ORDER` (GAIA first), then any others as registered."""
    rank = {name: position for position, name in enumerate(METHOD_ORDER)}
    return sorted(_REGISTRY, key=lambda name: rank.get(name, len(rank)))


def method_class(name: str) -> type[ScoreMethod]:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownNameError(f"unknown score method '{name}'; available: {', '.join(available())}") from None


def method_label(name: str) -> str:
    """Display name of a method: its `ScoreMethod.label` ("gaia_a" -> "GAIA-A"); other names pass through."""
    return _REGISTRY[name].label if name in _REGISTRY else name


def channel_quantity(name: str, layer_mean: bool = False) -> str:
    """The per-channel value a GAIA method squares and averages, as labels write it ("gaia_z" ->
    "r_c", "gaia_a" -> "u_c / o"); with ``layer_mean``, its mean over a layer's channels ("r̄", "ū/o")."""
    if name not in _CHANNEL_QUANTITIES:
        raise UnknownNameError(f"'{name}' has no per-channel values; GAIA methods do: {', '.join(_CHANNEL_QUANTITIES)}")
    return _CHANNEL_QUANTITIES[name][1 if layer_mean else 0]


def create(name: str, **config) -> ScoreMethod:
    """A method by registry name, configured by keyword (see each method's fields)."""
    cls = method_class(name)
    try:
        return cls(**config)
    except TypeError as err:
        raise ConfigError(f"bad configuration for '{name}': {err}") from None


def create_for_model(name: str, input_std: tuple[float, ...], **config) -> ScoreMethod:
    """`create`, with the model's per-channel input std passed to methods that perturb the input
    (ODIN's ε is then in pixel units, as in the original ODIN and OpenOOD)."""
    if "input_std" in {f.name for f in dataclasses.fields(method_class(name))}:
        config.setdefault("input_std", tuple(input_std))
    return create(name, **config)
