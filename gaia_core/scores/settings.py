"""The methods' settings a user may change, in one frozen value that builds the configured methods.

Every field ends up in the built method's dataclass fields, and `gaia_core.evaluation.scoring`
keys the score cache by every field of every method (``method_config``): two settings never
share cached scores.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from torch import nn

from gaia_core.errors import ConfigError
from gaia_core.scores.base import ScoreMethod, create, create_for_model, method_class
from gaia_core.scores.energy import Energy
from gaia_core.scores.gaia_a import GaiaA
from gaia_core.scores.gaia_z import GaiaZ
from gaia_core.scores.odin import ODIN
from gaia_core.scores.react import ReAct


def _default(cls: type, name: str) -> Any:
    return next(f.default for f in dataclasses.fields(cls) if f.name == name)


# method -> (settings field, method field) pairs: which setting configures which field.
FIELDS = {
    "odin": (("odin_temperature", "temperature"), ("odin_epsilon", "epsilon")),
    "energy": (("energy_temperature", "temperature"),),
    "react": (("react_percentile", "percentile"),),
    "gaia_z": (("gaia_z_layers", "layers"),),
    "gaia_a": (("gaia_a_layers", "inner_layers"),),
}


@dataclass(frozen=True)
class MethodSettings:
    """ODIN's, Energy's, ReAct's and GAIA's settings; the defaults are the methods' (the papers')."""

    # ODIN's softmax temperature T.
    odin_temperature: float = _default(ODIN, "temperature")
    # ODIN's perturbation ε (pixel units when the model's std is given to `build`).
    odin_epsilon: float = _default(ODIN, "epsilon")
    # Energy's temperature T.
    energy_temperature: float = _default(Energy, "temperature")
    # ReAct's clipping percentile of the ID features, in (0, 100].
    react_percentile: float = _default(ReAct, "percentile")
    # GAIA-Z's layers (dotted names); None = the paper's default (every normalization layer).
    gaia_z_layers: tuple[str, ...] | None = None
    # GAIA-A's inner layers; None = the paper's default for the architecture.
    gaia_a_layers: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        for name in ("odin_temperature", "energy_temperature"):
            if not _positive(getattr(self, name)):
                raise ConfigError(f"{name} must be a number above 0, got {getattr(self, name)!r}")
        if not (_number(self.odin_epsilon) and self.odin_epsilon >= 0):
            raise ConfigError(f"odin_epsilon must be 0 or more, got {self.odin_epsilon!r}")
        if not (_number(self.react_percentile) and 0 < self.react_percentile <= 100):
            raise ConfigError(f"react_percentile must be in (0, 100], got {self.react_percentile!r}")
        for name in ("gaia_z_layers", "gaia_a_layers"):
            layers = getattr(self, name)
            if layers is None:
                continue
            if isinstance(layers, str) or not all(isinstance(x, str) and x for x in layers) or not layers:
                raise ConfigError(f"{name} must be a non-empty list of layer names, or None for the paper's default")
            object.__setattr__(self, name, tuple(layers))

    def method_kwargs(self, name: str) -> dict[str, Any]:
        """The fields these settings give method ``name`` ({} for methods without settings)."""
        return {field: getattr(self, setting) for setting, field in FIELDS.get(name, ())}

    def build(self, names: Sequence[str], input_std: Sequence[float] | None = None) -> list[ScoreMethod]:
        """The configured methods, by registry name, in order (through `create` / `create_for_model`).

        Args:
            names: registry names ("gaia_z", "odin", ...).
            input_std: the model's per-channel input std: ODIN's ε is then in pixel units.
        """
        if input_std is None:
            return [create(n, **self.method_kwargs(n)) for n in names]
        return [create_for_model(n, tuple(input_std), **self.method_kwargs(n)) for n in names]

    @classmethod
    def from_methods(cls, methods: Sequence[ScoreMethod | Mapping[str, Any]]) -> MethodSettings:
        """The settings a list of methods was built with: the methods themselves, or their
        ``method_config`` documents as a cache manifest stores them ({"name", "config"})."""
        values: dict[str, Any] = {}
        for method in methods:
            if isinstance(method, Mapping):
                name, config = method.get("name"), method.get("config")
            else:
                name, config = method.name, dataclasses.asdict(method)
            if not isinstance(config, Mapping):
                continue
            for setting, field in FIELDS.get(name, ()):
                if field in config:
                    value = config[field]
                    values[setting] = tuple(value) if isinstance(value, list) else value
        return cls(**values)

    def describe(self, names: Sequence[str] | None = None) -> str:
        """One line for tables and reports: "ODIN T=1000 ε=0.0014 · Energy T=1 · ReAct p90 ·
        GAIA-Z layers: paper's default · GAIA-A layers: paper's default" (only ``names``' settings when given)."""

        def layers(value: tuple[str, ...] | None) -> str:
            return "paper's default" if value is None else ", ".join(value)

        parts = {
            "odin": f"ODIN T={self.odin_temperature:g} ε={self.odin_epsilon:g}",
            "energy": f"Energy T={self.energy_temperature:g}",
            "react": f"ReAct p{self.react_percentile:g}",
            "gaia_z": f"GAIA-Z layers: {layers(self.gaia_z_layers)}",
            "gaia_a": f"GAIA-A layers: {layers(self.gaia_a_layers)}",
        }
        chosen = parts if names is None else [n for n in names if n in parts]
        return " · ".join(parts[n] for n in chosen) or "default settings"


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _positive(value: Any) -> bool:
    return _number(value) and value > 0


def default_layers(model: nn.Module, name: str) -> list[str]:
    """The paper's default layers of a GAIA method on ``model`` (what a layer picker starts from):
    GAIA-Z's taps, or GAIA-A's inner layers."""
    cls = method_class(name)
    if cls is GaiaZ:
        return GaiaZ().layer_names(model)
    if cls is GaiaA:
        return GaiaA().layer_names(model)
    raise ConfigError(f"'{name}' has no layers to pick; GAIA-Z (gaia_z) and GAIA-A (gaia_a) have")
