"""Timings of the "What if?" page's work on the demo model: `python -m gaia_core.bench.what_if`.

Prints the time of one sweep over all strengths (the curves) and of scoring one image at one
strength (the most a slider move could cost if its strength were not already in the sweep).
"""

from __future__ import annotations

import time

import torch

from gaia_core.data.arrays import demo_dataset
from gaia_core.data.transforms import array_transform
from gaia_core.demo.data import load_demo_set
from gaia_core.evaluation.scoring import evaluate_dataset
from gaia_core.models import get_spec, load_model
from gaia_core.scores import available, create
from gaia_core.teaching.perturbations import perturbation_names
from gaia_core.teaching.sweep import IdReference, SweepConfig, run_sweep


def main(repeats: int = 3) -> None:
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    model = load_model("demo", device="cpu")
    methods = [create(m) for m in available() if not create(m).needs_fit]
    id_scores = evaluate_dataset(model, demo_dataset("digits"), methods, keep_channels=True)
    reference = IdReference.from_scores(id_scores)
    to_input = array_transform(get_spec("demo"))
    images, _ = load_demo_set("digits")
    image, other = torch.as_tensor(images[0]), torch.as_tensor(load_demo_set("letters")[0][0])
    print(f"threads {torch.get_num_threads()}, methods {[m.name for m in methods]}")
    for name in perturbation_names():
        for count in (21, 1):
            config = SweepConfig(name, (0.5,) if count == 1 else SweepConfig(name).strengths)
            best = float("inf")
            for _ in range(repeats):
                start = time.perf_counter()
                run_sweep(model, methods, to_input, image, config, reference, other)
                best = min(best, time.perf_counter() - start)
            what = "curves, 21 strengths" if count == 21 else "one strength       "
            print(f"{name:10s} {what}: {1000 * best:7.1f} ms")


if __name__ == "__main__":
    main()
