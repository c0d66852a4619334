"""``models``: the registered models, and the other model names the commands accept."""

from __future__ import annotations

import argparse

from gaia_core.cli.terminal import say
from gaia_core.models import available_models, get_spec


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("models", help="list the models", description="List the registered models.")
    parser.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    for name in available_models():
        spec = get_spec(name)
        say(f"  {name:<20} [{spec.family}] {spec.description}")
    say("  timm:<name>          [imagenet] any timm model, e.g. timm:resnet50 (preprocessing from its config)")
    say("  package.module:fn    your own factory returning an nn.Module (trusted code)")
    return 0
