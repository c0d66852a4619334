"""The options the commands share, each defined once (argparse parent parsers), and the checks of
option values that the parser makes.

``evaluate`` and ``layers`` both take `model_options`, `data_options` and `run_options`; a
command adds its own options to the same groups with `group`.
"""

from __future__ import annotations

import argparse
import os

from gaia_core.data import PRESETS
from gaia_core.errors import GaiaError
from gaia_core.evaluation.benchmark import BATCH_SIZE
from gaia_core.evaluation.cache import CACHE_ENV
from gaia_core.models import available_models

DATA_ROOT_ENV = "GAIA_DATA_ROOT"


class UsageError(GaiaError):
    """Options that do not go together, are missing, or are out of range."""


class Parser(argparse.ArgumentParser):
    """argparse's parser, reporting a bad command line as a `UsageError` (one line, exit 2)."""

    def error(self, message: str):
        raise UsageError(message)


class AtLeast(argparse.Action):
    """An integer option refused below ``minimum``, when the command line is parsed."""

    def __init__(self, option_strings, dest, minimum: int = 1, **kwargs):
        super().__init__(option_strings, dest, type=int, **kwargs)
        self.minimum = minimum

    def __call__(self, parser, namespace, value, option_string=None):
        if value < self.minimum:
            bound = "0 or more" if self.minimum == 0 else f"at least {self.minimum}"
            raise UsageError(f"{max(self.option_strings, key=len)} must be {bound} (got {value})")
        setattr(namespace, self.dest, value)


def group(parser: argparse.ArgumentParser, title: str) -> argparse._ArgumentGroup:
    """The parser's argument group called ``title`` (one a parent parser brought), else a new one."""
    for existing in parser._action_groups:
        if existing.title == title:
            return existing
    return parser.add_argument_group(title)


def model_options() -> argparse.ArgumentParser:
    """--model, --checkpoint, --num-classes."""
    parent = Parser(add_help=False)
    model = parent.add_argument_group("model")
    model.add_argument(
        "--model",
        default="demo",
        metavar="MODEL",
        help=f"architecture: {', '.join(available_models())}, timm:<name> (any timm model), or "
        "package.module:function (your own factory returning an nn.Module; trusted code) (default: demo)",
    )
    model.add_argument(
        "--checkpoint", metavar="FILE", help="weights file (.safetensors, or a .pt/.pth state_dict read weights-only)"
    )
    model.add_argument(
        "--num-classes",
        action=AtLeast,
        metavar="K",
        help="classes of the checkpoint (default: read from the checkpoint, else the model's)",
    )
    return parent


def data_options() -> argparse.ArgumentParser:
    """--benchmark, --id, --ood, --data-root, --limit."""
    parent = Parser(add_help=False)
    data = parent.add_argument_group("data")
    data.add_argument(
        "--benchmark", choices=list(PRESETS), help="a named benchmark: its ID set and OOD sets (see `datasets`)"
    )
    data.add_argument(
        "--id",
        metavar="SET",
        help="ID set: a demo set, a named dataset, a folder or an image list (default: the "
        "benchmark's; digits for the demo model)",
    )
    data.add_argument("--ood", nargs="+", metavar="SET", help="OOD sets (same forms as --id); instead of --benchmark")
    data.add_argument(
        "--data-root",
        metavar="DIR",
        default=os.environ.get(DATA_ROOT_ENV, "data"),
        help=f"folder holding the datasets (default: ${DATA_ROOT_ENV} or ./data)",
    )
    data.add_argument(
        "--limit", action=AtLeast, metavar="N", help="use at most N samples of each set, evenly spread (quick runs)"
    )
    return parent


def run_options() -> argparse.ArgumentParser:
    """--batch-size, --device; --cache-dir, --no-cache; --no-progress, --debug."""
    parent = Parser(add_help=False)
    scoring = parent.add_argument_group("scoring")
    scoring.add_argument(
        "--batch-size",
        action=AtLeast,
        default=BATCH_SIZE,
        metavar="B",
        help=f"samples per batch (default: {BATCH_SIZE})",
    )
    scoring.add_argument(
        "--device",
        metavar="DEV",
        help="cpu, cuda or cuda:N (default: the best available; under torchrun the local GPU)",
    )
    cache = parent.add_argument_group("cache")
    cache.add_argument(
        "--cache-dir", metavar="DIR", help=f"score cache folder (default: ${CACHE_ENV} or ~/.cache/gaia/scores)"
    )
    cache.add_argument("--no-cache", action="store_true", help="neither read nor write the score cache")
    output = parent.add_argument_group("output")
    output.add_argument("--no-progress", action="store_true", help="no progress bars")
    output.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    return parent
