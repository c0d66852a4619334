"""The Browse images page's rerun time at ImageNet's size, through `streamlit.testing` (no browser):
``python -m app_pages.timing.browse [--id 50000] [--ood 40000] [--repeats 5]`` prints JSON.

Run by ``python -m gaia_core.bench.browser`` (which cannot import the app itself). A synthetic
finished scoring run (`gaia_core.bench.browser.synthetic_scores`: ``--id`` ID images, ``--ood`` over
four OOD sets, eight methods, file paths, ImageNet's class names; thumbnails read from the demo's
digits) is put in the job runner under the session's scoring request; the page is then opened once
(its frame of every image is built) and rerun after each filter change.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

from app_pages.shell.job_progress import job_runner
from app_pages.shell.model_choice import load
from app_pages.shell.scoring_jobs import Scored, ScoringRequest
from gaia_core.app_support.tables import combined_table
from gaia_core.bench.browser import METHODS, OOD_SETS, synthetic_scores
from gaia_core.data import demo_dataset
from gaia_core.data.base import SubsetDataset
from gaia_core.evaluation.ood_tables import BenchmarkResult

APP = Path(__file__).resolve().parents[1] / "app.py"
# Widget changes, each followed by one timed rerun: (widget kind, key, value).
CHANGES = (
    ("segmented_control", "browse_correct", "wrong"),
    ("segmented_control", "browse_correct", "all"),
    ("number_input", "browse_min_flagged", 4),
    ("selectbox", "browse_sort", "gaia_z"),
    ("multiselect", "browse_sets", ["SUN"]),
    ("text_input", "browse_name", "0042"),
    ("selectbox", "browse_kind", "score"),
    ("number_input", "browse_min_flagged", 0),
)


def synthetic_run(request: ScoringRequest, id_size: int, ood_size: int) -> Scored:
    """A finished scoring run of synthetic scores, its thumbnails the demo's digits."""
    id_scores = synthetic_scores("imagenet_val", id_size, True, 0.0, 0)
    per_set = ood_size // len(OOD_SETS)
    ood = {t: synthetic_scores(t, per_set, False, 0.8, i + 1) for i, t in enumerate(OOD_SETS)}
    digits = demo_dataset("digits")
    datasets = {
        s.title: SubsetDataset(digits, np.arange(len(s.table)) % len(digits)) for s in (id_scores, *ood.values())
    }
    result = BenchmarkResult(id_scores, ood, list(METHODS), {}, {})
    return Scored(request, result, [], datasets, combined_table(id_scores, ood))


def measure(id_size: int, ood_size: int, repeats: int) -> dict[str, float]:
    """Milliseconds: the page's first visit (the frame built) and the median rerun after a filter change."""
    at = AppTest.from_file(str(APP), default_timeout=600)
    at.run()
    loaded = load(at.session_state["model_choice"])
    request = ScoringRequest(loaded.key, "imagenet_val", OOD_SETS, METHODS, "synthetic", id_size)
    scored = synthetic_run(request, id_size, ood_size)
    job_runner().submit(request, lambda _progress: scored).wait()
    at.session_state["scoring"] = request
    at.switch_page("app_pages/browse.py")
    start = time.perf_counter()
    at.run()
    first = time.perf_counter() - start
    if at.exception or at.error:
        raise RuntimeError(f"the page failed: {[e.value for e in [*at.exception, *at.error]]}")
    reruns = []
    for _ in range(repeats):
        for kind, key, value in CHANGES:
            getattr(at, kind)(key=key).set_value(value)
            start = time.perf_counter()
            at.run()
            reruns.append(time.perf_counter() - start)
    return {
        "images": float(len(scored.table)),
        "page: first visit (frame built)": 1000 * first,
        "page: rerun after a filter change (median)": 1000 * statistics.median(reruns),
        "page: rerun after a filter change (max)": 1000 * max(reruns),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app_pages.timing.browse", description=__doc__.splitlines()[0])
    parser.add_argument("--id", type=int, default=50_000, help="ID images (default 50,000)")
    parser.add_argument("--ood", type=int, default=40_000, help="OOD images over four sets (default 40,000)")
    parser.add_argument("--repeats", type=int, default=3, help="rounds of the filter changes")
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.id, args.ood, args.repeats)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
