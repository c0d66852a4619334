"""Train the demo model on the digits' train split and ship its weights.

    python -m gaia_core.demo.train [--epochs N] [--seed S] [--out assets/demo_resnet.safetensors]

Writes the weights (safetensors), a JSON report beside them (test accuracy, seed, epochs,
train seconds, parameter count, sha256) and the sample PNGs of every demo set. Training is
deterministic for a given seed and thread count (a few tens of seconds on a 2-core CPU).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import Tensor, nn
from tqdm import tqdm

from gaia_core.demo import DEMO_SAMPLES_DIR, DEMO_WEIGHTS
from gaia_core.demo.data import DEMO_MEAN, DEMO_STD, export_samples, load_demo_set, normalize
from gaia_core.demo.model import DEMO_BLOCKS, DEMO_WIDTHS, build_demo_model

MIN_TEST_ACCURACY = 0.95


@dataclass(frozen=True)
class TrainConfig:
    """How the demo model is trained."""

    # Passes over the train split.
    epochs: int = 15
    # Seeds weight init, shuffling and augmentation.
    seed: int = 0
    # Images per SGD step.
    batch_size: int = 64
    # Peak learning rate of the one-cycle schedule (SGD, Nesterov momentum 0.9).
    learning_rate: float = 0.1
    # L2 penalty on all parameters.
    weight_decay: float = 5e-4
    # Largest random translation in pixels of the 32x32 image (one 8x8 pixel is 4).
    max_shift: int = 3
    # CPU threads; results are bitwise reproducible for a fixed seed and thread count.
    threads: int = 2
    # Train on only the first n train images (quick runs and tests); None uses all.
    train_subset: int | None = None


def train_demo_model(
    config: TrainConfig,
    out: str | Path = DEMO_WEIGHTS,
    samples_dir: str | Path | None = DEMO_SAMPLES_DIR,
    progress: bool = True,
) -> dict:
    """Train a DemoResNet on the digits, save it and its report, and export sample images.

    The global RNG, thread count and determinism flag are restored afterwards.

    Args:
        config: training settings.
        out: weights path (.safetensors); the JSON report goes to the same path with ".json".
        samples_dir: where `export_samples` writes the PNGs; None skips them.
        progress: show a tqdm bar.

    Returns:
        The report that was written as JSON.
    """
    out = Path(out)
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    with torch.random.fork_rng(devices=[]):
        try:
            torch.set_num_threads(config.threads)
            torch.use_deterministic_algorithms(True)
            torch.manual_seed(config.seed)
            started = time.perf_counter()
            model = _fit(config, progress)
            train_seconds = time.perf_counter() - started
        finally:
            torch.set_num_threads(threads)
            torch.use_deterministic_algorithms(deterministic)

    test_images, test_labels = load_demo_set("digits", "test")
    accuracy = evaluate_accuracy(model, normalize(test_images), torch.from_numpy(test_labels))
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().contiguous() for k, v in model.state_dict().items()}, str(out))
    report = {
        "test_accuracy": round(accuracy, 4),
        "test_images": len(test_labels),
        "train_images": config.train_subset or len(load_demo_set("digits", "train")[1]),
        "train_seconds": round(train_seconds, 1),
        "num_parameters": sum(p.numel() for p in model.parameters()),
        "weights_sha256": hashlib.sha256(out.read_bytes()).hexdigest(),
        "widths": list(DEMO_WIDTHS),
        "blocks": list(DEMO_BLOCKS),
        "normalize_mean": DEMO_MEAN,
        "normalize_std": DEMO_STD,
        "torch": torch.__version__,
        "machine": platform.machine(),
        **asdict(config),
    }
    out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    if samples_dir is not None:
        export_samples(samples_dir)
    return report


def evaluate_accuracy(model: nn.Module, x: Tensor, labels: Tensor) -> float:
    """Fraction of x (N, 1, 32, 32), normalized, whose argmax logit equals labels (N,).

    The model is put in eval mode (this module only calls it on its own models).
    """
    model.eval()
    with torch.no_grad():
        predictions = torch.cat([model(batch).argmax(1) for batch in x.split(256)])
    return (predictions == labels).float().mean().item()


def random_shift(images: Tensor, max_shift: int, generator: torch.Generator) -> Tensor:
    """Translate each image (B, C, H, W) by up to max_shift pixels, filling with zeros (background)."""
    if max_shift == 0:
        return images
    height, width = images.shape[-2:]
    padded = F.pad(images, [max_shift] * 4)
    offsets = torch.randint(0, 2 * max_shift + 1, (len(images), 2), generator=generator).tolist()
    return torch.stack([padded[i, :, dy : dy + height, dx : dx + width] for i, (dy, dx) in enumerate(offsets)])


def _fit(config: TrainConfig, progress: bool) -> nn.Module:
    images, labels = load_demo_set("digits", "train")
    images, labels = torch.from_numpy(images), torch.from_numpy(labels)
    if config.train_subset is not None:
        images, labels = images[: config.train_subset], labels[: config.train_subset]
    generator = torch.Generator().manual_seed(config.seed)
    model = build_demo_model().train()
    optimizer = torch.optim.SGD(
        model.parameters(), lr=config.learning_rate, momentum=0.9, nesterov=True, weight_decay=config.weight_decay
    )
    steps_per_epoch = -(-len(labels) // config.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.learning_rate, total_steps=config.epochs * steps_per_epoch
    )
    bar = tqdm(range(config.epochs), desc="training demo model", disable=not progress)
    for _ in bar:
        loss_sum = 0.0
        for batch in torch.randperm(len(labels), generator=generator).split(config.batch_size):
            x = normalize(random_shift(images[batch], config.max_shift, generator))
            loss = F.cross_entropy(model(x), labels[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            loss_sum += loss.item() * len(batch)
        bar.set_postfix(loss=f"{loss_sum / len(labels):.3f}")
    return model


def main(argv: list[str] | None = None) -> int:
    defaults = TrainConfig()
    parser = argparse.ArgumentParser(
        prog="python -m gaia_core.demo.train",
        description="Train the demo ResNet on scikit-learn's digits; write weights, a JSON report and sample PNGs.",
    )
    parser.add_argument(
        "--epochs", type=int, default=defaults.epochs, help="passes over the train split (default %(default)s)"
    )
    parser.add_argument(
        "--seed", type=int, default=defaults.seed, help="seed for init, shuffling, augmentation (default %(default)s)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEMO_WEIGHTS,
        help="weights file; the .json report goes beside it (default %(default)s)",
    )
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size, help="default %(default)s")
    parser.add_argument(
        "--lr", type=float, default=defaults.learning_rate, help="peak learning rate (default %(default)s)"
    )
    parser.add_argument("--threads", type=int, default=defaults.threads, help="CPU threads (default %(default)s)")
    parser.add_argument(
        "--samples-dir",
        type=Path,
        default=DEMO_SAMPLES_DIR,
        help="where sample PNGs of every set are written (default %(default)s)",
    )
    parser.add_argument("--no-samples", action="store_true", help="do not write sample PNGs")
    args = parser.parse_args(argv)
    config = TrainConfig(
        epochs=args.epochs, seed=args.seed, batch_size=args.batch_size, learning_rate=args.lr, threads=args.threads
    )
    report = train_demo_model(config, args.out, None if args.no_samples else args.samples_dir)
    print(json.dumps(report, indent=2))
    if report["test_accuracy"] < MIN_TEST_ACCURACY:
        print(
            f"test accuracy {report['test_accuracy']:.2%} is below the required {MIN_TEST_ACCURACY:.0%}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
