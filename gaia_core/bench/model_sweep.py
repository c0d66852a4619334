"""Which model families GAIA-Z and GAIA-A can work on: ``python -m gaia_core.bench.model_sweep``.

Random weights (drawn from a fixed seed, so the table is reproducible) with batch-norm statistics
calibrated by a few train-mode forwards on noise (weights do not decide whether gradients hold
exact zeros; activations do). For each model:
its activations, the fraction of exactly-zero gradient entries at GAIA-Z's taps, whether the
GAIA-Z and GAIA-A scores vary between inputs, and the applicability check's verdict.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import torch
from torch import nn

from gaia_core.models.registry import load_model
from gaia_core.scores import create
from gaia_core.scores.applicability import check_applicability, percent
from gaia_core.scores.taps import default_feature_layer, default_gaia_a_layers, default_gaia_z_layers

FAMILIES = (
    "timm:resnet18",
    "timm:resnetv2_50x1_bit",
    "timm:regnety_002",
    "timm:convnext_atto",
    "timm:efficientnet_b0",
    "timm:mobilenetv3_small_100",
    "timm:densenet121",
    "timm:wide_resnet50_2",
    "timm:vgg11_bn",
    "timm:ghostnet_100",
    "timm:rexnet_100",
    "efficientnet_b0",
    "mobilenet_v3_large",
)


@dataclass(frozen=True)
class SweepRow:
    """One model's verdict."""

    # Model name as the CLI takes it.
    model: str
    # Activation module types found.
    activations: str
    # Number of GAIA-Z taps, GAIA-A inner taps, and the feature layer F.
    z_taps: int
    a_taps: int
    feature_layer: str
    # Fraction of tapped gradient entries that are exactly zero.
    zero_fraction: float
    # Standard deviation of the scores over the batch (0 = the score separates nothing).
    gaia_z_std: float
    gaia_a_std: float
    # The applicability check's verdicts.
    gaia_z_informative: bool
    gaia_a_informative: bool


def calibrate(model: nn.Module, size: int, batches: int = 3, batch_size: int = 8, seed: int = 0) -> nn.Module:
    """Set batch-norm running statistics from a few train-mode forwards on noise; returns eval mode."""
    generator = torch.Generator().manual_seed(seed)
    model.train()
    with torch.no_grad():
        for _ in range(batches):
            model(torch.randn(batch_size, 3, size, size, generator=generator))
    return model.eval()


def sweep_row(name: str, size: int = 64, images: int = 6, seed: int = 0) -> SweepRow:
    with torch.random.fork_rng(devices=[]):  # the same random weights on every run, the caller's RNG untouched
        torch.manual_seed(seed)
        model = calibrate(load_model(name, random_init=True, device="cpu"), size)
    x = torch.randn(images, 3, size, size, generator=torch.Generator().manual_seed(1))
    report = check_applicability(model, x)
    z, a = create("gaia_z")(model, x).score, create("gaia_a")(model, x).score
    return SweepRow(
        name,
        ", ".join(report.activations),
        len(default_gaia_z_layers(model)),
        len(default_gaia_a_layers(model)),
        default_feature_layer(model),
        report.zero_fraction,
        float(z.std()),
        float(a.std()),
        report.gaia_z_informative,
        report.gaia_a_informative,
    )


def markdown(rows: list[SweepRow]) -> str:
    lines = [
        "| model | activations | GAIA-Z taps | GAIA-A inner taps | F | zero gradients | GAIA-Z std | GAIA-A std "
        "| GAIA-Z | GAIA-A |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.model} | {r.activations} | {r.z_taps} | {r.a_taps} | `{r.feature_layer}` | {percent(r.zero_fraction)} "
            f"| {r.gaia_z_std:.2g} | {r.gaia_a_std:.2g} | {'yes' if r.gaia_z_informative else 'no'} "
            f"| {'yes' if r.gaia_a_informative else 'no'} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", default=list(FAMILIES), help="model names (default: the sweep)")
    parser.add_argument("--size", type=int, default=64, help="input height = width (default 64)")
    args = parser.parse_args(argv)
    print(markdown([sweep_row(name, args.size) for name in args.models]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
