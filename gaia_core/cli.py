"""Command line: ``python -m gaia_core <command>``.

``evaluate`` scores an ID set and OOD sets with every method and prints the paper's table per
method; ``datasets`` lists the benchmarks and where each dataset goes; ``models`` lists models.
Errors a user can fix print one line to stderr and exit with status 2 (``--debug`` shows the
traceback instead).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

import gaia_core
from gaia_core.device import configure_cpu_process
from gaia_core.errors import GaiaError

EXIT_USAGE = 2
DATA_ROOT_ENV = "GAIA_DATA_ROOT"


class UsageError(GaiaError):
    """Options that do not go together, or are missing."""


def _add_evaluate(commands: argparse._SubParsersAction) -> None:
    from gaia_core.data import PRESETS
    from gaia_core.models import available_models
    from gaia_core.scores import available

    parser = commands.add_parser(
        "evaluate",
        help="score an ID set and OOD sets with every method; print FPR95/AUROC/AUPR tables",
        description=(
            "Score an in-distribution (ID) set and one or more OOD sets with each method, and print per "
            "method the paper's table: one row per OOD set plus the average, with FPR95, AUROC, AUPR-In, "
            "AUPR-Out (percent) and the ID accuracy. Nothing is downloaded unless --download."
        ),
        epilog=(
            "Examples:\n"
            "  python -m gaia_core evaluate --model demo --ood letters noise\n"
            "  python -m gaia_core evaluate --model cifar_resnet18 --checkpoint r18.pt \\\n"
            "      --benchmark cifar10 --data-root data\n"
            "  torchrun --nproc_per_node=4 -m gaia_core evaluate --model resnet50 --pretrained --benchmark imagenet\n"
            "Datasets: see `python -m gaia_core datasets`."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    model = parser.add_argument_group("model")
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
    model.add_argument("--num-classes", type=int, metavar="K", help="classes of the checkpoint (default: the model's)")
    model.add_argument(
        "--pretrained",
        action="store_true",
        help="use torchvision's pretrained ImageNet weights from torch hub's cache (downloaded only with --download)",
    )
    data = parser.add_argument_group("data")
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
        "--download",
        action="store_true",
        help="allow downloads: the datasets torchvision can fetch (CIFAR-10/100, SVHN, DTD, Places365) and, with "
        "--pretrained, the pretrained weights",
    )
    data.add_argument(
        "--limit", type=int, metavar="N", help="use at most N samples of each set, evenly spread (quick runs)"
    )
    scoring = parser.add_argument_group("scoring")
    scoring.add_argument(
        "--methods",
        nargs="+",
        choices=available(),
        metavar="METHOD",
        help=f"score methods (default: all: {', '.join(available())})",
    )
    scoring.add_argument(
        "--fit-set",
        metavar="SET",
        help="ID data that methods needing a fit (ReAct) are fitted on (default: the ID "
        "set's training split where one is known: digits-train, cifar10-train, "
        "cifar100-train; else the ID set itself)",
    )
    scoring.add_argument(
        "--fit-samples",
        type=int,
        default=2000,
        metavar="N",
        help="at most N samples of the fit set are used (default: 2000)",
    )
    scoring.add_argument("--batch-size", type=int, default=64, metavar="B", help="samples per batch (default: 64)")
    scoring.add_argument(
        "--workers",
        type=int,
        metavar="W",
        help="data-loading worker processes (default: 0 for in-memory sets, else up to 4)",
    )
    scoring.add_argument(
        "--device",
        metavar="DEV",
        help="cpu, cuda or cuda:N (default: the best available; under torchrun the local GPU)",
    )
    cache = parser.add_argument_group("cache")
    cache.add_argument(
        "--cache-dir", metavar="DIR", help="score cache folder (default: $GAIA_CACHE_DIR or ~/.cache/gaia/scores)"
    )
    cache.add_argument("--no-cache", action="store_true", help="neither read nor write the score cache")
    output = parser.add_argument_group("output")
    output.add_argument("--csv", metavar="FILE", help="write the tables (percent) as CSV")
    output.add_argument(
        "--json", metavar="FILE", help="write metrics (fractions), skipped files and every sample's scores as JSON"
    )
    output.add_argument(
        "--html", metavar="FILE", help="write a self-contained HTML report (charts, metrics, image galleries)"
    )
    output.add_argument("--no-progress", action="store_true", help="no progress bars")
    output.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    paper = parser.add_argument_group("the paper's protocol")
    paper.add_argument(
        "--paper",
        choices=("cifar10", "cifar100", "imagenet"),
        help="run the GAIA paper's setting: its models, preprocessing and OOD sets; metrics in our and the "
        "authors' conventions (checkpoints from --checkpoint-dir, data from --data-root)",
    )
    paper.add_argument(
        "--checkpoint-dir", default="checkpoints", metavar="DIR", help="folder of the --paper checkpoints"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gaia_core",
        description="GAIA Explorer: OOD detection with gradient-based attribution abnormality (GAIA).",
    )
    parser.add_argument("--version", action="version", version=f"gaia_core {gaia_core.__version__}")
    commands = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND")
    _add_evaluate(commands)
    _add_layers(commands)
    datasets = commands.add_parser(
        "datasets",
        help="list benchmarks, datasets and where their files go",
        description="List the named benchmarks and datasets, and where each is expected under --data-root.",
    )
    datasets.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    models = commands.add_parser("models", help="list the models", description="List the registered models.")
    models.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    return parser


def _user_errors() -> tuple[type[BaseException], ...]:
    """What the command line reports in one line: every `GaiaError`, files it could not read or
    write (OSError), and running out of memory (with what to lower)."""
    from gaia_core.errors import GaiaError

    return (GaiaError, OSError, _out_of_memory())


def _out_of_memory() -> type[BaseException]:
    import torch

    return torch.OutOfMemoryError


def main(argv: Sequence[str] | None = None) -> int:
    configure_cpu_process()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    handler = {"evaluate": run_evaluate, "layers": run_layers, "datasets": run_datasets, "models": run_models}[
        args.command
    ]
    try:
        return handler(args)
    except _user_errors() as err:
        if args.debug:
            raise
        message = " ".join(str(err).split()) or type(err).__name__
        if isinstance(err, _out_of_memory()):
            message = f"out of memory ({message[:200]}); lower --batch-size (or --limit, or use a smaller model)"
        print(f"gaia: error: {message}", file=sys.stderr)
        return EXIT_USAGE


# ---------------------------------------------------------------------------------------------
# evaluate


def _dataset_names(args, spec) -> tuple[str, list[str], dict[str, list[str]]]:
    from gaia_core.data import check_preset_fits, get_preset

    if args.benchmark and args.ood:
        raise UsageError("give either --benchmark or --ood, not both")
    if args.benchmark:
        preset = get_preset(args.benchmark)
        check_preset_fits(preset, spec)
        return args.id or preset.id_set, list(preset.ood_sets), preset.groups
    if args.ood:
        if args.id is None and spec.family != "demo":
            raise UsageError(f"give the ID set with --id (or a --benchmark) for {spec.name}")
        return args.id or "digits", list(args.ood), {}
    if spec.family == "demo":
        preset = get_preset("demo")
        return args.id or preset.id_set, list(preset.ood_sets), {}
    raise UsageError("give the OOD sets with --ood, or a --benchmark")


def _check_numbers(args) -> None:
    positive = {
        "--batch-size": args.batch_size,
        "--limit": args.limit,
        "--fit-samples": args.fit_samples,
        "--num-classes": args.num_classes,
    }
    for option, value in positive.items():
        if value is not None and value < 1:
            raise UsageError(f"{option} must be at least 1 (got {value})")
    if args.workers is not None and args.workers < 0:
        raise UsageError(f"--workers must be 0 or more (got {args.workers})")
    if args.pretrained and args.checkpoint:
        raise UsageError("give either --checkpoint or --pretrained, not both")


def run_paper(args) -> int:
    """``evaluate --paper``: each model of the paper's setting on its benchmark."""
    import copy

    from gaia_core.data.base import DatasetNotFound
    from gaia_core.evaluation.paper import PAPER_SETTINGS, missing_files

    setting = PAPER_SETTINGS[args.paper]
    missing = missing_files(setting, args.data_root, args.checkpoint_dir)
    if missing:
        raise DatasetNotFound(f"the paper's {args.paper} protocol needs files that are not there: {'; '.join(missing)}")
    for paper_model in setting.models:
        run = copy.copy(args)
        run.paper, run.model, run.benchmark = None, paper_model.model, setting.benchmark
        run.checkpoint = str(Path(args.checkpoint_dir) / paper_model.checkpoint)
        run.num_classes, run.authors_metrics = paper_model.num_classes, True
        run_evaluate(run)
    return 0


def run_evaluate(args) -> int:
    if getattr(args, "paper", None):
        return run_paper(args)
    from gaia_core.data import default_fit_set, evenly_spaced, get_preset, resolve_dataset
    from gaia_core.device import best_device
    from gaia_core.evaluation import distributed
    from gaia_core.evaluation.cache import ScoreCache
    from gaia_core.evaluation.fitting import fit_methods
    from gaia_core.evaluation.ood_tables import evaluate_benchmark, format_report
    from gaia_core.evaluation.throughput import measure
    from gaia_core.models import get_spec, load_model, weights_fingerprint
    from gaia_core.models.normalization import spec_for_id_set
    from gaia_core.scores import available, create_for_model

    _check_numbers(args)
    spec = get_spec(args.model)
    id_name, ood_names, groups = _dataset_names(args, spec)
    spec = spec_for_id_set(spec, id_name)  # CIFAR-100 checkpoints get CIFAR-100's mean/std
    crop = get_preset(args.benchmark).crop if args.benchmark else "resize"
    context = distributed.init_distributed()
    try:
        main_process = context is None or context.is_main

        def resolve(name: str):
            dataset = resolve_dataset(name, spec, data_root=args.data_root, download=args.download, crop=crop)
            return evenly_spaced(dataset, args.limit)

        if context is not None and args.download and not main_process:
            context.barrier()  # the main process downloads first
        id_set = resolve(id_name)
        ood_sets = [resolve(name) for name in ood_names]
        fit_name = args.fit_set or default_fit_set(id_name)
        fit_set = id_set if fit_name == id_name else resolve(fit_name)
        if context is not None and args.download and main_process:
            context.barrier()

        device = args.device or (distributed.local_device() if context is not None else best_device())
        model = load_model(
            args.model,
            args.checkpoint,
            num_classes=args.num_classes,
            pretrained=args.pretrained,
            download=args.download,
            device=device,
        )

        cache = None if args.no_cache else ScoreCache(args.cache_dir)
        weights_id = weights_fingerprint(model)
        methods = [create_for_model(name, spec.std) for name in (args.methods or available())]
        methods = fit_methods(
            model,
            methods,
            fit_set,
            max_samples=args.fit_samples,
            batch_size=args.batch_size,
            num_workers=args.workers,
            cache=cache,
            weights_id=weights_id,
        )
        meter = measure()
        result = evaluate_benchmark(
            model,
            id_set,
            ood_sets,
            methods,
            groups=groups,
            batch_size=args.batch_size,
            num_workers=args.workers,
            cache=cache,
            keep_channels=bool(args.html),
            progress_bar=not args.no_progress and main_process,
            weights_id=weights_id,
        )
        if main_process:
            _report_skipped(result)
            print(f"model {args.model}" + (f" ({Path(args.checkpoint).name})" if args.checkpoint else ""))
            print()
            print(format_report(result))
            _print_applicability_note(model, id_set, methods)
            if meter.images:
                print(meter.summary())
            if getattr(args, "authors_metrics", False):
                from gaia_core.evaluation.paper import authors_report

                print()
                print(authors_report(result))
            if args.csv:
                write_csv(result, args.csv)
            if args.json:
                write_json(result, args.json, model=args.model, checkpoint=args.checkpoint, weights_id=weights_id)
            if args.html:
                from gaia_core.evaluation.report import write_report

                titled = dict(zip([result.id_scores.title, *result.ood_scores], [id_set, *ood_sets]))
                write_report(result, titled, spec.mean, spec.std, args.html)
    finally:
        distributed.shutdown()
    return 0


def _print_applicability_note(model, id_set, methods, images: int = 4) -> None:
    """One line under the table when GAIA-Z or GAIA-A cannot separate anything on this model."""
    import torch

    from gaia_core.scores.applicability import check_applicability

    if not {"gaia_z", "gaia_a"} & {m.name for m in methods} or len(id_set) == 0:
        return
    device = next(model.parameters()).device
    x = torch.stack([id_set[i].image for i in range(min(images, len(id_set)))]).to(device)
    note = check_applicability(model, x).note
    if note:
        print(f"note: {note}")


def _report_skipped(result) -> None:
    for scores in (result.id_scores, *result.ood_scores.values()):
        if scores.skipped:
            shown = ", ".join(s.path or s.sample_id for s in scores.skipped[:10])
            more = f" and {len(scores.skipped) - 10} more" if len(scores.skipped) > 10 else ""
            print(
                f"gaia: skipped {len(scores.skipped)} unreadable file(s) in {scores.title}: {shown}{more}",
                file=sys.stderr,
            )


def write_csv(result, path: str | Path) -> None:
    """The printed tables as one CSV: method, ood_set, FPR95, AUROC, AUPR-In, AUPR-Out, id_accuracy (percent)."""
    from gaia_core.evaluation.ood_tables import metrics_table

    accuracy = result.id_accuracy
    frames = []
    for method in result.methods:
        table = metrics_table(result, method).reset_index().rename(columns={"OOD set": "ood_set"})
        table.insert(0, "method", method)
        table["id_accuracy"] = np.nan if accuracy is None else 100 * accuracy
        frames.append(table)
    pd.concat(frames, ignore_index=True).to_csv(path, index=False, float_format="%.4f")


def _samples(scores) -> dict:
    table = scores.table
    return {column: table[column].tolist() for column in table.columns if column != "dataset"}


def write_json(result, path: str | Path, **about) -> None:
    """Metrics (fractions), ID accuracy, skipped files and every sample's scores."""
    datasets = {"id": result.id_scores, **{f"ood:{t}": s for t, s in result.ood_scores.items()}}
    document = {
        "version": gaia_core.__version__,
        **about,
        "id": result.id_scores.title,
        "ood": list(result.ood_scores),
        "groups": result.groups,
        "methods": result.methods,
        "id_accuracy": result.id_accuracy,
        "metrics": result.metrics,
        "datasets": {
            key: {
                "name": s.name,
                "title": s.title,
                "size": len(s.table) + len(s.skipped),
                "skipped": [{"sample_id": k.sample_id, "path": k.path, "reason": k.reason} for k in s.skipped],
                "samples": _samples(s),
            }
            for key, s in datasets.items()
        },
    }
    Path(path).write_text(json.dumps(document, indent=1))


# ---------------------------------------------------------------------------------------------
# layers


def _add_layers(commands: argparse._SubParsersAction) -> None:
    from gaia_core.evaluation.layer_lab import AGGREGATIONS

    parser = commands.add_parser(
        "layers",
        help="which layers carry GAIA's signal: each layer alone, and a held-out best subset",
        description=(
            "Score the ID set and the OOD sets with GAIA-Z or GAIA-A keeping every channel's value, then "
            "print each tapped layer's metrics alone (network order), the chosen aggregation over all layers "
            "(the paper's default), and a greedy best subset chosen on one half of the images and measured "
            "on the other. Tuning layers on the OOD sets one reports is optimistic: read the held-out numbers."
        ),
        epilog="Example:\n  python -m gaia_core layers --model demo --id digits --ood letters textures noise",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", default="demo", help="architecture (default: demo); see `models`")
    parser.add_argument("--checkpoint", metavar="FILE", help="weights file (.safetensors, or .pt/.pth weights-only)")
    parser.add_argument(
        "--num-classes", type=int, metavar="K", help="classes of the checkpoint (default: read from it)"
    )
    parser.add_argument("--benchmark", help="a named benchmark: its ID set and OOD sets (see `datasets`)")
    parser.add_argument("--id", metavar="SET", help="ID set (default: the benchmark's; digits for the demo)")
    parser.add_argument("--ood", nargs="+", metavar="SET", help="OOD sets, instead of --benchmark")
    parser.add_argument(
        "--data-root", metavar="DIR", default=os.environ.get(DATA_ROOT_ENV, "data"), help="folder holding the datasets"
    )
    parser.add_argument("--limit", type=int, metavar="N", help="use at most N samples of each set, evenly spread")
    parser.add_argument("--method", choices=("gaia_z", "gaia_a"), default="gaia_z", help="GAIA score (default: gaia_z)")
    parser.add_argument(
        "--aggregation",
        choices=AGGREGATIONS,
        default="mean_square",
        help="how channels become a score (default: the paper's)",
    )
    parser.add_argument("--k", type=int, default=16, help="channels averaged by --aggregation top_k (default: 16)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the selection / report split (default: 0)")
    parser.add_argument("--batch-size", type=int, default=64, metavar="B", help="samples per batch (default: 64)")
    parser.add_argument("--device", metavar="DEV", help="cpu, cuda or cuda:N (default: the best available)")
    parser.add_argument("--cache-dir", metavar="DIR", help="score cache folder (default: $GAIA_CACHE_DIR)")
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write the score cache")
    parser.add_argument("--csv", metavar="FILE", help="write the per-layer table (fractions) as CSV")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")


def run_layers(args) -> int:
    from gaia_core.data import evenly_spaced, resolve_dataset
    from gaia_core.device import best_device
    from gaia_core.evaluation.cache import ScoreCache
    from gaia_core.evaluation.layer_lab import LayerRecipe, greedy_subset, per_layer_metrics, recipe_metrics
    from gaia_core.evaluation.scoring import evaluate_dataset
    from gaia_core.models import get_spec, load_model
    from gaia_core.scores import create

    for option, value in {"--batch-size": args.batch_size, "--limit": args.limit, "--k": args.k}.items():
        if value is not None and value < 1:
            raise UsageError(f"{option} must be at least 1 (got {value})")
    spec = get_spec(args.model)
    id_name, ood_names, _ = _dataset_names(args, spec)
    model = load_model(args.model, args.checkpoint, num_classes=args.num_classes, device=args.device or best_device())
    cache = None if args.no_cache else ScoreCache(args.cache_dir)

    def channels(name: str):
        dataset = evenly_spaced(resolve_dataset(name, spec, data_root=args.data_root), args.limit)
        scores = evaluate_dataset(
            model,
            dataset,
            [create(args.method)],
            batch_size=args.batch_size,
            cache=cache,
            keep_channels=True,
            progress_bar=not args.no_progress,
        )
        return scores.title, scores.channels[args.method]

    id_title, id_channels = channels(id_name)
    ood_channels = dict(channels(name) for name in ood_names)
    per_layer = per_layer_metrics(id_channels, ood_channels, args.aggregation, args.k)
    wide = per_layer.pivot(index="layer", columns="set", values="auroc").loc[list(id_channels)]
    wide = wide[[*ood_channels, "Average"]]
    label = {"gaia_z": "GAIA-Z", "gaia_a": "GAIA-A"}[args.method]
    print(f"{label}, {args.aggregation}: AUROC (%) of each layer alone, ID {id_title}, network order")
    print((100 * wide).round(2).to_string())
    print()
    default = recipe_metrics(id_channels, ood_channels, LayerRecipe(None, args.aggregation, args.k))
    print(f"all {len(id_channels)} layers, {args.aggregation} (FPR95 / AUROC %):")
    print((100 * default[["fpr95", "auroc"]]).round(2).to_string())
    search = greedy_subset(id_channels, ood_channels, args.aggregation, args.k, seed=args.seed)
    print()
    print(f"greedy subset chosen on half the images (seed {args.seed}): {', '.join(search.layers)}")
    print("measured on the other half (FPR95 / AUROC %), beside the paper's default on that half:")
    side = (100 * search.report[["fpr95", "auroc"]]).round(2)
    side[["default fpr95", "default auroc"]] = (100 * search.default_report[["fpr95", "auroc"]]).round(2).to_numpy()
    print(side.to_string())
    if args.csv:
        per_layer.to_csv(args.csv, index=False)
    return 0


# ---------------------------------------------------------------------------------------------
# datasets, models


def run_datasets(args) -> int:
    from gaia_core.data import PRESETS, SOURCES
    from gaia_core.demo.data import DEMO_SETS

    print("Benchmarks (--benchmark):")
    for preset in PRESETS.values():
        groups = "; ".join(f"{g + ': ' if g else ''}{', '.join(names)}" for g, names in preset.ood_groups)
        print(f"  {preset.name:<20} [{preset.family}] {preset.title}\n  {'':<20} ID {preset.id_set}; OOD {groups}")
    print("\nDemo sets (built in, no files needed):")
    for demo in DEMO_SETS.values():
        print(f"  {demo.name:<20} {demo.title}")
    print("\nDatasets under --data-root (nothing is downloaded unless --download):")
    for source in SOURCES.values():
        fetch = "--download works" if source.downloadable else "manual"
        print(f"  {source.name:<20} {source.location}  [{fetch}]\n  {'':<20} {source.how_to_get}")
    print(
        "  openood:<bench>/<set>  benchmark_imglist/<bench>/test_<set>.txt + images_classic/ or images_largescale/"
        "\n  (OpenOOD v1.5's data/ folder)\n"
        "\nAlso accepted by --id/--ood: any folder of images (labels from its sub-folders) and any image list "
        "file ('<path> <label>' lines, paths relative to --data-root)."
    )
    return 0


def run_models(args) -> int:
    from gaia_core.models import available_models, get_spec

    for name in available_models():
        spec = get_spec(name)
        print(f"  {name:<20} [{spec.family}] {spec.description}")
    print("  timm:<name>          [imagenet] any timm model, e.g. timm:resnet50 (preprocessing from its config)")
    print("  package.module:fn    your own factory returning an nn.Module (trusted code)")
    return 0
