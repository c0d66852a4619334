import numpy as np
import pytest
import torch

from gaia_core.data.arrays import demo_dataset
from gaia_core.data.transforms import array_transform
from gaia_core.demo.data import load_demo_set
from gaia_core.evaluation.metrics import percentile_of, threshold_at_tpr
from gaia_core.evaluation.scoring import evaluate_dataset
from gaia_core.models import get_spec, load_model
from gaia_core.scores import available, create
from gaia_core.teaching.sweep import IdReference, SweepConfig, run_sweep


@pytest.fixture(scope="module")
def demo():
    model = load_model("demo", device="cpu")
    methods = [create(m) for m in available() if not create(m).needs_fit]
    id_scores = evaluate_dataset(model, demo_dataset("digits"), methods, keep_channels=True)
    return model, methods, IdReference.from_scores(id_scores), array_transform(get_spec("demo"))


def _sweep(demo, perturbation, image_index=0, seed=0):
    model, methods, reference, to_input = demo
    image = torch.as_tensor(load_demo_set("digits")[0][image_index])
    other = torch.as_tensor(load_demo_set("textures")[0][0])
    return run_sweep(model, methods, to_input, image, SweepConfig(perturbation, seed=seed), reference, other)


def test_percentile_counts_id_scores_at_or_below():
    assert percentile_of(np.array([0.0, 2.0, 4.0, 9.0]), np.array([1.0, 2.0, 3.0, 4.0])).tolist() == [0, 50, 100, 100]


def test_strength_zero_scores_like_the_plain_image(demo):
    model, methods, _, to_input = demo
    sweep = _sweep(demo, "noise")
    plain = torch.as_tensor(load_demo_set("digits")[0][0])[None]
    for method in methods:
        expected = float(method(model, to_input(plain[0])[None]).score[0])
        assert sweep.scores[method.name][0] == pytest.approx(expected, rel=1e-4, abs=1e-6)


def test_percentiles_lie_in_range_and_follow_the_scores(demo):
    sweep = _sweep(demo, "noise")
    for name, percentiles in sweep.percentiles.items():
        assert np.all((percentiles >= 0) & (percentiles <= 100))
        order = np.argsort(sweep.scores[name], kind="stable")
        assert np.all(np.diff(percentiles[order]) >= 0)


def test_first_flag_is_the_first_strength_above_the_threshold(demo):
    _, _, reference, _ = demo
    sweep = _sweep(demo, "noise")
    for name, scores in sweep.scores.items():
        threshold = threshold_at_tpr(reference.scores[name], 0.95)
        assert sweep.thresholds[name] == threshold
        above = [s for s, v in zip(sweep.strengths, scores) if v > threshold]
        assert sweep.first_flag[name] == (above[0] if above else None)
    # Full-strength noise is far from any digit: at least one method flags it.
    assert any(flag is not None for flag in sweep.first_flag.values())


def test_flip_points_are_where_the_prediction_changes(demo):
    sweep = _sweep(demo, "blend")
    predictions = sweep.predictions
    expected = [float(s) for s, a, b in zip(sweep.strengths[1:], predictions[:-1], predictions[1:]) if a != b]
    assert sweep.flips == expected
    assert predictions[0] == load_demo_set("digits")[1][0]
    assert np.all((sweep.confidences > 0) & (sweep.confidences <= 1))


def test_layer_profiles_are_the_means_of_gaia_channels(demo):
    model, methods, reference, to_input = demo
    sweep = _sweep(demo, "contrast")
    gaia_z = next(m for m in methods if m.name == "gaia_z")
    x = to_input(torch.as_tensor(sweep.images[10]))[None]
    channels = gaia_z(model, x).channels
    for layer, values in channels.items():
        assert sweep.layer_profiles["gaia_z"][layer][10] == pytest.approx(float(values.mean()), rel=1e-5)
        assert layer in reference.layer_means["gaia_z"]


def test_the_sweep_depends_on_seed_and_image(demo):
    a, b, c = _sweep(demo, "noise", seed=0), _sweep(demo, "noise", seed=1), _sweep(demo, "noise", image_index=1)
    assert not np.allclose(a.scores["gaia_z"][1:], b.scores["gaia_z"][1:])
    assert not np.allclose(a.scores["gaia_z"], c.scores["gaia_z"])


def test_all_flag_lists_exactly_the_strengths_where_every_method_flags(demo):
    import dataclasses

    sweep = _sweep(demo, "noise")
    n = len(sweep.strengths)
    a, b = np.zeros(n, bool), np.zeros(n, bool)
    a[3:9], b[5:], a[12] = True, True, True
    known = dataclasses.replace(sweep, flagged={"one": a, "two": b})
    assert known.all_flag == [float(sweep.strengths[k]) for k in (5, 6, 7, 8, 12)]
    assert dataclasses.replace(sweep, flagged={"one": a, "two": ~b}).all_flag == [
        float(s) for s in sweep.strengths[3:5]
    ]
    assert dataclasses.replace(sweep, flagged={"one": a & ~a}).all_flag == []
