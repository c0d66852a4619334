"""``evaluate``: an ID set against OOD sets with every method, the paper's table per method.

``--paper`` runs each model of one of the paper's settings on its benchmark and adds the
authors' metric convention and the published figures beside ours.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from gaia_core.cli import writers
from gaia_core.cli.inputs import ModelChoice, chosen_device, load, model_spec, set_names
from gaia_core.cli.options import AtLeast, UsageError, data_options, group, model_options, run_options
from gaia_core.cli.terminal import SetBars, say
from gaia_core.data import default_fit_set, evenly_spaced
from gaia_core.data.base import DatasetNotFound, ScoreDataset
from gaia_core.data.preprocessing import input_transform, load_set
from gaia_core.evaluation import distributed
from gaia_core.evaluation.benchmark import (
    FIT_SAMPLES,
    GAIA_LAYER_FIELDS,
    BenchmarkRequest,
    id_set_applicability,
    needs_fit,
    run_benchmark,
)
from gaia_core.evaluation.cache import ScoreCache
from gaia_core.evaluation.ood_tables import BenchmarkResult, format_report
from gaia_core.evaluation.paper import PAPER_SETTINGS, SetLayers, authors_report, checkpoint_path, missing_files
from gaia_core.evaluation.published import published_report, published_table
from gaia_core.evaluation.runs import record_run
from gaia_core.evaluation.throughput import measure
from gaia_core.models import weights_fingerprint
from gaia_core.scores import ScoreMethod, available

SKIPPED_SHOWN = 10


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "evaluate",
        parents=[model_options(), data_options(), run_options()],
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
    parser.set_defaults(handler=run)
    group(parser, "model").add_argument(
        "--pretrained",
        action="store_true",
        help="use torchvision's pretrained ImageNet weights from torch hub's cache (downloaded only with --download)",
    )
    group(parser, "data").add_argument(
        "--download",
        action="store_true",
        help="allow downloads: the datasets torchvision can fetch (CIFAR-10/100, SVHN, DTD, Places365) and, with "
        "--pretrained, the pretrained weights",
    )
    scoring = group(parser, "scoring")
    scoring.add_argument(
        "--methods",
        nargs="+",
        choices=available(),
        metavar="METHOD",
        help=f"score methods (default: all: {', '.join(available())})",
    )
    scoring.add_argument(
        "--layers",
        nargs="+",
        metavar="LAYER",
        help="dotted layer names that GAIA-Z taps and GAIA-A takes its inner layers from, in place of "
        "the model's defaults (see `layers` for which layers carry the signal)",
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
        action=AtLeast,
        default=FIT_SAMPLES,
        metavar="N",
        help=f"at most N samples of the fit set are used (default: {FIT_SAMPLES})",
    )
    scoring.add_argument(
        "--workers",
        action=AtLeast,
        minimum=0,
        metavar="W",
        help="data-loading worker processes (default: 0 for in-memory sets, else up to 4)",
    )
    output = group(parser, "output")
    output.add_argument("--csv", metavar="FILE", help="write the tables (percent) as CSV")
    output.add_argument(
        "--json", metavar="FILE", help="write metrics (fractions), skipped files and every sample's scores as JSON"
    )
    output.add_argument(
        "--html", metavar="FILE", help="write a self-contained HTML report (charts, metrics, image galleries)"
    )
    paper = parser.add_argument_group("the paper's protocol")
    paper.add_argument(
        "--paper",
        choices=list(PAPER_SETTINGS),
        help="run the GAIA paper's setting: its models, preprocessing and OOD sets; metrics in our and the "
        "authors' conventions, beside the published figures (checkpoints from --checkpoint-dir, data from "
        "--data-root)",
    )
    paper.add_argument(
        "--checkpoint-dir",
        default="checkpoints",
        metavar="DIR",
        help="folder of the --paper checkpoints (default: ./checkpoints)",
    )


def run(args: argparse.Namespace) -> int:
    if args.pretrained and args.checkpoint:
        raise UsageError("give either --checkpoint or --pretrained, not both")
    if args.paper:
        return run_paper(args)
    evaluate(args, ModelChoice(args.model, args.checkpoint, args.num_classes, args.pretrained), args.benchmark)
    return 0


def run_paper(args: argparse.Namespace) -> int:
    """``evaluate --paper``: each model of the paper's setting on its benchmark."""
    if args.pretrained or args.checkpoint:
        raise UsageError("--paper reads its checkpoints from --checkpoint-dir: drop --checkpoint and --pretrained")
    setting = PAPER_SETTINGS[args.paper]
    missing = missing_files(setting, args.data_root, args.checkpoint_dir)
    if missing:
        raise DatasetNotFound(f"the paper's {args.paper} protocol needs files that are not there: {'; '.join(missing)}")
    for paper_model in setting.models:
        checkpoint = str(checkpoint_path(args.checkpoint_dir, paper_model))
        choice = ModelChoice(paper_model.model, checkpoint, paper_model.num_classes)
        evaluate(args, choice, setting.benchmark, paper=True, set_layers=paper_model.set_layers)
    return 0


def evaluate(
    args: argparse.Namespace,
    choice: ModelChoice,
    benchmark: str | None,
    paper: bool = False,
    set_layers: Sequence[SetLayers] = (),
) -> None:
    """Score the model's benchmark (`run_benchmark`), print its tables and write the files asked for.

    Args:
        benchmark: the preset its sets come from (--benchmark, or the paper setting's).
        paper: add the authors' convention and the published figures.
        set_layers: the authors' per-OOD-set layers (BiT's GAIA-Z on Textures).
    """
    spec = model_spec(choice.name)
    id_name, ood_names, groups = set_names(spec, benchmark, args.id, args.ood)
    preset = benchmark or id_name  # one decision per set: normalization, crop rule, size
    spec = input_transform(spec, preset).spec  # CIFAR-100 checkpoints get CIFAR-100's mean/std
    methods = tuple(args.methods or available())
    context = distributed.init_distributed()
    try:
        main_process = context is None or context.is_main

        def resolve(name: str) -> ScoreDataset:
            dataset = load_set(name, spec, preset, data_root=args.data_root, download=args.download)
            return evenly_spaced(dataset, args.limit)

        if context is not None and args.download and not main_process:
            context.barrier()  # the main process downloads first
        id_set = resolve(id_name)
        ood_sets = [resolve(name) for name in ood_names]
        fit_name = args.fit_set or default_fit_set(id_name)
        fit_set = resolve(fit_name) if needs_fit(methods) and fit_name != id_name else None
        if context is not None and args.download and main_process:
            context.barrier()

        model = load(choice, chosen_device(args.device), download=args.download)
        weights_id = weights_fingerprint(model)
        request = BenchmarkRequest(
            model,
            spec,
            id_set,
            tuple(ood_sets),
            methods,
            fit_set=fit_set,
            fit_samples=args.fit_samples,
            layers=None if args.layers is None else tuple(args.layers),
            groups=groups,
            set_layers=tuple(set_layers),
            cache=None if args.no_cache else ScoreCache(args.cache_dir),
            weights_id=weights_id,
            batch_size=args.batch_size,
            num_workers=args.workers,
            keep_channels=bool(args.html),
            progress=SetBars() if main_process and not args.no_progress else None,
        )
        meter = measure()
        scored = run_benchmark(request)
        if not main_process:
            return
        if request.cache is not None:  # named in the cache, for the runs put side by side
            titles = dict(zip(ood_names, (d.display_name for d in ood_sets)))
            record_run(
                request.cache,
                weights_id,
                id_set,
                ood_sets,
                scored.methods,
                keep_channels=request.keep_channels,
                model=choice.name,
                checkpoint=Path(choice.checkpoint).name if choice.checkpoint else "",
                groups={group: [titles[n] for n in names if n in titles] for group, names in groups.items()},
            )
        result = scored.result
        for note in scored.skipped_methods:  # methods that cannot apply to this model: the others are scored
            say(f"gaia: {note}", err=True)
        report_skipped(result)
        say(f"model {choice.name}" + (f" ({Path(choice.checkpoint).name})" if choice.checkpoint else ""))
        say()
        say(format_report(result))
        # The files first: nothing the run computed is lost to a check below that fails.
        if args.csv:
            writers.write_csv(result, args.csv)
        if args.json:
            writers.write_json(
                result, args.json, model=choice.name, checkpoint=choice.checkpoint, weights_id=weights_id
            )
        names = {d.display_name: n for d, n in zip(ood_sets, ood_names)}  # OOD set title -> its dataset name
        if args.html:
            crop = input_transform(spec, preset, id_name).crop
            beside = published_table(result, benchmark, names) if paper else None
            writers.write_html(
                result, [id_set, *ood_sets], spec, args.html, choice.checkpoint or "", choice.pretrained, crop, beside
            )
        print_applicability_note(model, id_set, scored.methods, request.cache, weights_id)
        if meter.images:
            say(meter.summary())
        if paper:
            say()
            say(authors_report(result))
            say()
            say(published_report(result, benchmark, names))
    finally:
        distributed.shutdown()


def print_applicability_note(
    model,
    id_set: ScoreDataset,
    methods: Sequence[ScoreMethod],
    cache: ScoreCache | None = None,
    weights_id: str | None = None,
) -> None:
    """One line under the table when GAIA-Z or GAIA-A cannot separate anything on this model,
    checked on the first readable ID images (remembered in the score cache: a rerun runs no model pass)."""
    if not set(GAIA_LAYER_FIELDS) & {m.name for m in methods} or len(id_set) == 0:
        return
    report = id_set_applicability(model, id_set, cache=cache, weights_id=weights_id)
    if report is not None and report.note:
        say(f"note: {report.note}")


def report_skipped(result: BenchmarkResult) -> None:
    """One line on stderr per set with unreadable files (how many, and the first few), and per OOD set
    left out because none of its files could be read."""
    for scores in (result.id_scores, *result.ood_scores.values()):
        if scores.skipped:
            shown = ", ".join(s.path or s.sample_id for s in scores.skipped[:SKIPPED_SHOWN])
            extra = len(scores.skipped) - SKIPPED_SHOWN
            more = f" and {extra} more" if extra > 0 else ""
            say(f"gaia: skipped {len(scores.skipped)} unreadable file(s) in {scores.title}: {shown}{more}", err=True)
    for title, why in result.unreadable_sets.items():
        say(f"gaia: {title} was not scored: {why}", err=True)
