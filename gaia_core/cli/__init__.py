"""Command line: ``python -m gaia_core <command>`` (installed as ``gaia``).

``evaluate`` scores an ID set and OOD sets with every method and prints the paper's table per
method; ``layers`` shows which layers carry GAIA's signal; ``datasets`` lists the benchmarks and
where each dataset goes; ``models`` lists models. One module per command; the options they
share are in `options`, every file they write in `writers`. Errors a user can fix print one
line to stderr and exit with status 2 (``--debug`` shows the traceback instead).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import torch

import gaia_core
from gaia_core.cli import datasets, evaluate, layers, models
from gaia_core.cli.options import Parser, UsageError
from gaia_core.cli.terminal import say
from gaia_core.device import configure_cpu_process
from gaia_core.errors import GaiaError, one_line

EXIT_USAGE = 2
# What is reported in one line: every `GaiaError`, files that could not be read or written, and
# running out of memory (with what to lower). Anything else is a bug and keeps its traceback.
USER_ERRORS = (GaiaError, OSError, torch.OutOfMemoryError)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="python -m gaia_core",
        description="GAIA Explorer: OOD detection with gradient-based attribution abnormality (GAIA).",
    )
    parser.add_argument("--version", action="version", version=f"gaia_core {gaia_core.__version__}")
    commands = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND")
    for command in (evaluate, layers, datasets, models):
        command.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    configure_cpu_process()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as err:
        return _fail(err)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.handler(args)
    except USER_ERRORS as err:
        if args.debug:
            raise
        return _fail(err)


def _fail(err: BaseException) -> int:
    message = one_line(err)
    if isinstance(err, torch.OutOfMemoryError):
        message = f"out of memory ({message[:200]}); lower --batch-size (or --limit, or use a smaller model)"
    say(f"gaia: error: {message}", err=True)
    return EXIT_USAGE


__all__ = ["EXIT_USAGE", "USER_ERRORS", "build_parser", "main"]
