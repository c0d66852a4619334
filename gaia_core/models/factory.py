"""One's own architecture: ``package.module:function``, a factory returning an ``nn.Module``.

The factory is the user's own, trusted code: it is imported and called. On the command line
any such name works; the app offers only the factories its operator lists in the
``GAIA_MODEL_FACTORIES`` environment variable (``"label=pkg.mod:fn,other=pkg2.mod:build"``),
never a name a visitor types. The factory is called as ``fn(num_classes=K)`` when it takes
that argument, else ``fn()``. Preprocessing is the model's own when it carries a timm-style
``pretrained_cfg`` dict (input_size, interpolation, crop_pct, mean, std), else ImageNet's
(224 after a 256 resize, ImageNet mean and std) and the model's description says so.
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
from collections.abc import Callable

from torch import nn

from gaia_core.errors import GaiaError

ENV_VAR = "GAIA_MODEL_FACTORIES"
_NAME = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*$")


class FactoryError(GaiaError, ValueError):
    """A model factory cannot be found, called, or returns no module."""


def is_factory_name(name: str) -> bool:
    """``pkg.mod:fn`` (and not ``timm:...``)."""
    return bool(_NAME.match(name)) and not name.startswith("timm:")


def resolve(name: str) -> Callable[..., nn.Module]:
    if not is_factory_name(name):
        raise FactoryError(f"'{name}' is not a factory name: write package.module:function")
    module_name, function_name = name.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise FactoryError(f"cannot import {module_name} for the model factory {name}: {err}") from None
    function = getattr(module, function_name, None)
    if not callable(function):
        raise FactoryError(f"{module_name} has no function {function_name} (model factory {name})")
    return function


def build(name: str, num_classes: int | None = None) -> nn.Module:
    """Call the factory; ``num_classes`` is passed only when the factory accepts it."""
    function = resolve(name)
    takes_classes = "num_classes" in inspect.signature(function).parameters
    if num_classes is not None and not takes_classes:
        model = function()
    else:
        model = function(num_classes=num_classes) if takes_classes and num_classes is not None else function()
    if not isinstance(model, nn.Module):
        raise FactoryError(f"the model factory {name} returned {type(model).__name__}, not a torch nn.Module")
    return model


def operator_factories(environ: dict[str, str] | None = None) -> dict[str, str]:
    """label -> ``pkg.mod:fn`` from ``GAIA_MODEL_FACTORIES`` (operator-controlled), in order.

    Raises:
        FactoryError: an entry is not ``label=pkg.mod:fn``.
    """
    raw = (os.environ if environ is None else environ).get(ENV_VAR, "")
    found = {}
    for entry in filter(None, (e.strip() for e in raw.split(","))):
        label, _, target = entry.partition("=")
        if not label.strip() or not is_factory_name(target.strip()):
            raise FactoryError(f"{ENV_VAR}: entry '{entry}' is not label=package.module:function")
        found[label.strip()] = target.strip()
    return found
