"""``datasets``: the named benchmarks, the demo sets, and where each dataset's files go."""

from __future__ import annotations

import argparse

from gaia_core.cli.terminal import say
from gaia_core.data import PRESETS, SOURCES
from gaia_core.demo.data import DEMO_SETS


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "datasets",
        help="list benchmarks, datasets and where their files go",
        description="List the named benchmarks and datasets, and where each is expected under --data-root.",
    )
    parser.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    say("Benchmarks (--benchmark):")
    for preset in PRESETS.values():
        groups = "; ".join(f"{g + ': ' if g else ''}{', '.join(names)}" for g, names in preset.ood_groups)
        say(f"  {preset.name:<20} [{preset.family}] {preset.title}\n  {'':<20} ID {preset.id_set}; OOD {groups}")
    say("\nDemo sets (built in, no files needed):")
    for demo in DEMO_SETS.values():
        say(f"  {demo.name:<20} {demo.title}")
    say("\nDatasets under --data-root (nothing is downloaded unless --download):")
    for source in SOURCES.values():
        fetch = "--download works" if source.downloadable else "manual"
        say(f"  {source.name:<20} {source.location}  [{fetch}]\n  {'':<20} {source.how_to_get}")
    say(
        "  openood:<bench>/<set>  benchmark_imglist/<bench>/test_<set>.txt + images_classic/ or images_largescale/"
        "\n  (OpenOOD v1.5's data/ folder)\n"
        "\nAlso accepted by --id/--ood: any folder of images (labels from its sub-folders) and any image list "
        "file ('<path> <label>' lines, paths relative to --data-root)."
    )
    return 0
