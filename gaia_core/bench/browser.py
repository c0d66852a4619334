"""Benchmark of the image browser at ImageNet's size: ``python -m gaia_core.bench.browser``.

    python -m gaia_core.bench.browser [--id 50000] [--ood 40000] [--repeats 7] [--no-page] [--json FILE]

Builds synthetic scores shaped as the cache returns them (ImageNet-1k's 50,000 validation
images as the ID set, four OOD sets sharing 40,000 images, eight methods, file paths and
ImageNet's class names), then times `build_frame` (once per scoring run) and the queries a
page runs on each rerun (median over ``--repeats`` after one warm-up). Then, unless ``--no-page``,
the app's Browse images page itself over the same synthetic run, through ``streamlit.testing``
in a child process (``python -m app_pages.timing.browse``: the library never imports the app):
its first visit and its rerun after a filter change.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from gaia_core.app_support.image_browser import (
    FILE,
    FLAGGED,
    BrowserFilters,
    SortOrder,
    build_frame,
    export_csv,
    query,
)
from gaia_core.data.class_names import label_text
from gaia_core.evaluation.ood_tables import thresholds_at_tpr
from gaia_core.evaluation.scoring import DatasetScores
from gaia_core.models.torchvision_zoo import default_weights

ROOT = Path(__file__).resolve().parents[2]
METHODS = ("gaia_a", "gaia_z", "msp", "maxlogit", "energy", "odin", "gradnorm", "react")
OOD_SETS = ("iNaturalist", "SUN", "Places", "Textures")


def synthetic_scores(name: str, size: int, labelled: bool, shift: float, seed: int) -> DatasetScores:
    """``size`` images of a set as `evaluate_dataset` returns them: 1000 classes, OOD shifted by ``shift``."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 1000, size) if labelled else np.full(size, -1)
    preds = (
        np.where(rng.random(size) < 0.76, labels, rng.integers(0, 1000, size))
        if labelled
        else rng.integers(0, 1000, size)
    )
    folder = [f"n{c:08d}" for c in range(1000)]
    paths = [f"/data/{name}/{folder[c]}/{name}_{i:08d}.JPEG" for i, c in enumerate(rng.integers(0, 1000, size))]
    table = pd.DataFrame(
        {
            "sample_id": [p.rsplit("/", 2)[-2] + "/" + p.rsplit("/", 1)[-1] for p in paths],
            "dataset": name,
            "index": np.arange(size),
            "path": paths,
            "label": labels,
            "pred": preds,
            "confidence": rng.random(size),
            **{m: rng.normal(shift, 1.0, size) for m in METHODS},
        }
    )
    return DatasetScores(name, name, list(METHODS), table)


def _median_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def run(id_size: int, ood_size: int, repeats: int) -> dict[str, float]:
    """Median milliseconds of building the frame and of each typical query."""
    id_scores = synthetic_scores("imagenet_val", id_size, True, 0.0, 0)
    per_set = ood_size // len(OOD_SETS)
    ood = {t: synthetic_scores(t, per_set, False, 0.8, i + 1) for i, t in enumerate(OOD_SETS)}
    names = list(default_weights("resnet50").meta["categories"])
    thresholds = thresholds_at_tpr(id_scores.table, METHODS, 0.95)
    frame = build_frame(id_scores, ood, thresholds, class_names=names)
    queries: dict[str, Callable[[], object]] = {
        "build frame (once per scoring run)": lambda: build_frame(id_scores, ood, thresholds, class_names=names),
        "first page, no filter": lambda: query(frame),
        "wrong predictions, by GAIA-Z": lambda: query(frame, BrowserFilters(correct=False), SortOrder("gaia_z")),
        "flagged by >= 4 methods, by flags": lambda: query(frame, BrowserFilters(min_flagged=4), SortOrder(FLAGGED)),
        "one OOD set, GAIA-A percentile 50-95": lambda: query(
            frame, BrowserFilters(sets=("SUN",), percentile_ranges=(("gaia_a", 50.0, 95.0),))
        ),
        "file name contains '0042', by name": lambda: query(
            frame, BrowserFilters(name_contains="0042"), SortOrder(FILE, descending=False)
        ),
        "predicted class + score range, page 20": lambda: query(
            frame,
            BrowserFilters(
                predicted_classes=tuple(label_text(i, names) for i in range(50)), score_ranges=(("msp", -1.0, 1.0),)
            ),
            SortOrder("msp"),
            page=20,
        ),
        "CSV of the wrong predictions": lambda: export_csv(frame, BrowserFilters(correct=False)),
    }
    timings = {label: _median_ms(fn, repeats) for label, fn in queries.items()}
    timings["images"] = float(len(frame))
    return timings


def page_timings(id_size: int, ood_size: int, repeats: int) -> dict[str, float]:
    """The Browse images page's own timings (ms), measured by ``app_pages.timing.browse`` in a child
    process; {} with a note when the app is not next to the library (an installed package)."""
    if not (ROOT / "app_pages" / "timing" / "browse.py").is_file():
        print("  (the app's pages are not next to gaia_core: page timings skipped)")
        return {}
    command = [sys.executable, "-m", "app_pages.timing.browse", "--id", str(id_size), "--ood", str(ood_size)]
    command += ["--repeats", str(max(1, repeats // 3))]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    timings = json.loads(done.stdout.strip().splitlines()[-1])
    timings.pop("images", None)
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gaia_core.bench.browser", description=__doc__.splitlines()[0])
    parser.add_argument("--id", type=int, default=50_000, help="ID images (default 50,000: ImageNet's validation set)")
    parser.add_argument("--ood", type=int, default=40_000, help="OOD images over four sets (default 40,000)")
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per step (median)")
    parser.add_argument("--no-page", action="store_true", help="skip the app page's own timings")
    parser.add_argument("--json", metavar="FILE", help="also write the timings as JSON")
    args = parser.parse_args(argv)
    timings = run(args.id, args.ood, args.repeats)
    if not args.no_page:
        timings |= page_timings(args.id, args.ood, args.repeats)
    print(f"image browser over {int(timings['images']):,} images ({args.id:,} ID + {args.ood:,} OOD, 8 methods)")
    for label, ms in timings.items():
        if label != "images":
            print(f"  {label:<42} {ms:8.1f} ms")
    if args.json:
        Path(args.json).write_text(json.dumps(timings, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
