"""``layers``: which layers carry GAIA's signal: each layer alone, the default, a held-out best subset."""

from __future__ import annotations

import argparse

from gaia_core.cli import writers
from gaia_core.cli.inputs import ModelChoice, chosen_device, load, model_spec, set_names
from gaia_core.cli.options import AtLeast, data_options, group, model_options, run_options
from gaia_core.cli.terminal import SetBars, say
from gaia_core.data import evenly_spaced
from gaia_core.data.preprocessing import load_set
from gaia_core.evaluation.benchmark import GAIA_LAYER_FIELDS
from gaia_core.evaluation.cache import ScoreCache
from gaia_core.evaluation.layer_lab import (
    AGGREGATIONS,
    LayerRecipe,
    find_twins,
    greedy_subset,
    per_layer_metrics,
    per_layer_table,
    recipe_metrics,
)
from gaia_core.evaluation.scoring import evaluate_dataset
from gaia_core.scores import GaiaZ, create, method_label


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "layers",
        parents=[model_options(), data_options(), run_options()],
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
    parser.set_defaults(handler=run)
    lab = parser.add_argument_group("layer lab")
    lab.add_argument(
        "--method", choices=list(GAIA_LAYER_FIELDS), default=GaiaZ.name, help=f"GAIA score (default: {GaiaZ.name})"
    )
    lab.add_argument(
        "--aggregation",
        choices=AGGREGATIONS,
        default="mean_square",
        help="how channels become a score (default: mean_square, the paper's)",
    )
    lab.add_argument("--k", action=AtLeast, default=16, help="channels averaged by --aggregation top_k (default: 16)")
    lab.add_argument(
        "--seed", action=AtLeast, minimum=0, default=0, help="seed of the selection / report split (default: 0)"
    )
    group(parser, "output").add_argument("--csv", metavar="FILE", help="write the per-layer table (fractions) as CSV")


def run(args: argparse.Namespace) -> int:
    spec = model_spec(args.model)
    id_name, ood_names, _ = set_names(spec, args.benchmark, args.id, args.ood)
    model = load(ModelChoice(args.model, args.checkpoint, args.num_classes), chosen_device(args.device))
    cache = None if args.no_cache else ScoreCache(args.cache_dir)
    bars = None if args.no_progress else SetBars()

    def channels(name: str):
        dataset = evenly_spaced(load_set(name, spec, args.benchmark or id_name, data_root=args.data_root), args.limit)
        scores = evaluate_dataset(
            model,
            dataset,
            [create(args.method)],
            batch_size=args.batch_size,
            cache=cache,
            keep_channels=True,
            progress=None if bars is None else bars.of(dataset.display_name),
        )
        return scores.title, scores.channels[args.method]

    id_title, id_channels = channels(id_name)
    ood_channels = dict(channels(name) for name in ood_names)
    per_layer = per_layer_metrics(id_channels, ood_channels, args.aggregation, args.k)
    twins = find_twins(id_channels, ood_channels)  # twin layers: one row, one candidate of the search
    wide = per_layer_table(per_layer, list(id_channels), twins)[[*ood_channels, "Average"]]
    say(f"{method_label(args.method)}, {args.aggregation}: AUROC (%) of each layer alone, ID {id_title}, network order")
    say((100 * wide).round(2).to_string())
    say()
    default = recipe_metrics(id_channels, ood_channels, LayerRecipe(None, args.aggregation, args.k))
    say(f"all {len(id_channels)} layers, {args.aggregation} (FPR95 / AUROC %):")
    say((100 * default[["fpr95", "auroc"]]).round(2).to_string())
    search = greedy_subset(id_channels, ood_channels, args.aggregation, args.k, seed=args.seed, twins=twins)
    say()
    say(f"greedy subset chosen on half the images (seed {args.seed}): {', '.join(search.names)}")
    say("measured on the other half (FPR95 / AUROC %), beside the paper's default on that half:")
    side = (100 * search.report[["fpr95", "auroc"]]).round(2)
    side[["default fpr95", "default auroc"]] = (100 * search.default_report[["fpr95", "auroc"]]).round(2).to_numpy()
    say(side.to_string())
    if args.csv:
        writers.write_layers_csv(per_layer, args.csv)
    return 0
