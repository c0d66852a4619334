"""The pages' general claims and What if?'s explanations, on hand-built numbers with known answers
(issue 22 items 4, 6, 8, 9, 10)."""

import numpy as np
import pytest
import torch
from PIL import Image

from gaia_core.data import demo_dataset
from gaia_core.data.naming import demo_samples
from gaia_core.demo import DEMO_SAMPLES_DIR
from gaia_core.demo.data import load_demo_set
from gaia_core.evaluation.published import PUBLISHED
from gaia_core.models import load_model
from gaia_core.scores.walkthrough import gaia_z_gradients, zero_shares
from gaia_core.teaching.claims import (
    below_chance,
    below_chance_note,
    channel_directions,
    published_failures,
    published_failures_note,
    score_verdict,
    sparsity_verdict,
)
from gaia_core.teaching.explain import compare_traits, nearest_images, traits_note, verdict_table
from gaia_core.teaching.images import fit_pixels, sample_pixels

METRICS = {
    "energy": {"noise": {"auroc": 0.081}, "letters": {"auroc": 0.62}},
    "gradnorm": {"noise": {"auroc": 0.406}, "letters": {"auroc": 0.55}},
    "gaia_a": {"noise": {"auroc": 0.99}, "letters": {"auroc": 0.88}},
}


def test_below_chance_names_each_method_under_50_percent_on_the_sets_shown_lowest_first():
    found = below_chance(METRICS, ["noise", "letters"])
    assert [(b.method, b.ood_set, b.auroc) for b in found] == [("energy", "noise", 0.081), ("gradnorm", "noise", 0.406)]
    note = below_chance_note(found, "digits")
    assert "Energy on noise (8.1%)" in note and "GradNorm on noise (40.6%)" in note
    assert "more confident on these OOD images than on its own ID images (digits)" in note
    assert below_chance(METRICS, ["letters"]) == [] and below_chance_note([], "digits") is None
    averaged = below_chance_note(found, "digits", {"energy": 0.35, "gradnorm": 0.48, "gaia_a": 0.93})
    assert averaged.startswith("Below chance (AUROC under 50%) on average over the OOD sets: Energy (35.0%); GradNorm")
    assert "Per OOD set: Energy on noise (8.1%)" in averaged and "GAIA-A" not in averaged
    assert below_chance_note([], "digits", {"gaia_a": 0.93}) is None


def test_the_sparsity_hypothesis_is_stated_with_the_verdict_of_the_numbers():
    holds = sparsity_verdict(np.array([0.6, 0.7]), np.array([0.4]), "digits", "noise")
    assert holds.id_zero_share == pytest.approx(0.65) and holds.ood_zero_share == pytest.approx(0.4)
    assert holds.holds and "65% of the gradient entries are exactly zero (most entries)" in holds.text
    assert "40% are: fewer zeros, as the paper expects" in holds.text
    fails = sparsity_verdict(np.array([0.48]), np.array([0.5, 0.5]), "digits", "textures")
    assert fails.holds is False and "(fewer than half of the entries)" in fails.text
    assert "does not hold" in fails.text and fails.ood_images == 2
    alone = sparsity_verdict(np.array([0.3]), None, "digits")
    assert alone.holds is None and alone.ood_zero_share is None


def test_the_score_verdict_compares_the_means():
    assert score_verdict(np.array([1.0, 3.0]), np.array([5.0]), "GAIA-A").holds
    verdict = score_verdict(np.array([5.0]), np.array([1.0, 3.0]), "GAIA-A")
    assert not verdict.holds and "not higher" in verdict.text and "mean 2 vs 5" in verdict.text


def test_channel_directions_count_channels_higher_and_lower_on_ood():
    id_channels = {"a": np.zeros((2, 3)), "b": np.ones((4, 1))}
    ood_channels = {"a": np.array([[1.0, -1.0, 0.0]]), "b": np.zeros((3, 1))}
    directions = channel_directions(id_channels, ood_channels, "r_c")
    assert (directions.higher, directions.lower, directions.total) == (1, 2, 4)
    assert "higher on OOD images than on ID images in 1 of 4 channels and lower in 2" in directions.text
    assert "does not hold" in directions.text


def test_where_gaia_does_not_work_lists_the_published_rows_outside_the_presets():
    table = published_failures()
    expected = [(f.benchmark, f.ood_set, f.value) for f in PUBLISHED if f.metric == "auroc"]
    assert list(table.itertuples(index=False, name=None)) == expected
    assert all(b.startswith(("MVTec", "ISIC")) for b in table["benchmark"])
    note = published_failures_note(table)
    assert "44.3% to 68.9%" in note
    assert "below chance on MVTec Metal Nut (dissimilar), MVTec Pill (dissimilar)." in note


def test_verdict_table_lists_every_method_with_its_first_flag_or_never():
    scores = {"gaia_z": np.array([0.1, 0.2, 0.3]), "msp": np.array([-1.0, -0.9, -0.2])}
    percentiles = {"gaia_z": np.array([50.0, 96.0, 99.0]), "msp": np.array([10.0, 20.0, 30.0])}
    flagged = {"gaia_z": np.array([False, True, True]), "msp": np.array([False, False, False])}
    table = verdict_table(scores, percentiles, {"gaia_z": 0.15, "msp": -0.1}, flagged, {"gaia_z": 0.5, "msp": None}, 1)
    assert list(table["method"]) == ["GAIA-Z", "MSP"]
    assert list(table["score"]) == [0.2, -0.9] and list(table["threshold"]) == [0.15, -0.1]
    assert list(table["percentile among ID"]) == [96.0, 20.0]
    assert list(table["flagged here"]) == ["yes", "no"] and list(table["first flags at"]) == ["0.50", "never"]


def test_nearest_images_are_the_closest_in_pixels_beside_the_id_images_own_neighbours():
    ids = np.stack([np.full((1, 4, 4), v) for v in (0.0, 0.5, 1.0)])
    near = nearest_images(np.full((1, 4, 4), 0.45), ids, k=2)
    assert near.indices.tolist() == [1, 0]
    np.testing.assert_allclose(near.distances, [0.05, 0.45])
    assert near.typical_distance == pytest.approx(0.5) and near.percentile == 0.0
    far = nearest_images(np.full((1, 4, 4), 0.5) + 0.5 * np.eye(4)[None], ids)  # 0.5 off on 4 of 16 pixels
    assert far.distances[0] == pytest.approx(0.25) and far.percentile == 0.0


def test_a_thin_faint_stroke_is_named_unusual_against_thick_bright_digits():
    ids = np.zeros((20, 1, 8, 8))
    for k in range(20):
        ids[k, 0, :, 2 : 4 + k % 2] = 1.0  # strokes 2 or 3 pixels wide, fully bright
    thin = np.zeros((1, 8, 8))
    thin[0, :, 3] = 0.6  # one pixel wide, faint
    traits = {t.name: t for t in compare_traits(thin, ids)}
    assert traits["ink fraction"].value == pytest.approx(1 / 8) and traits["ink fraction"].unusual
    assert traits["ink fraction"].above == 100.0
    assert traits["stroke brightness"].value == pytest.approx(0.6) and traits["stroke brightness"].unusual
    note = traits_note(list(traits.values()), "digits")
    assert note.startswith("Unusual for the ID images: ink fraction 0.125 (lower than 100% of digits")
    typical = traits_note(compare_traits(ids[0], ids), "digits")
    assert typical.startswith("In these simple pixel traits") and "lies within the middle 90% of digits" in typical


def test_a_demo_sample_feeds_its_sets_own_pixels_not_its_8_bit_png():
    sample = next(s for s in demo_samples() if s.path == "digits/0.png")
    pixels = sample_pixels(sample)
    np.testing.assert_array_equal(pixels, load_demo_set("digits")[0][0])
    with Image.open(DEMO_SAMPLES_DIR / sample.path) as picture:
        png = np.asarray(picture, dtype=np.float32)[None] / 255.0
    assert not np.array_equal(png, pixels) and np.abs(png - pixels).max() <= 0.5 / 255 + 1e-6


def test_fit_pixels_matches_channels_and_size_and_leaves_a_fitting_image_alone():
    grey = np.random.default_rng(0).random((1, 8, 8)).astype(np.float32)
    np.testing.assert_array_equal(fit_pixels(grey, (1, 8, 8)), grey)
    colour = fit_pixels(grey, (3, 4, 4))
    assert colour.shape == (3, 4, 4) and np.array_equal(colour[0], colour[2])


def test_zero_shares_count_every_exact_zero_of_gaia_zs_gradients_per_image():
    model = load_model("demo", device="cpu")
    x = torch.stack([demo_dataset("digits")[0].image, demo_dataset("noise")[0].image])
    shares = zero_shares(model, x)
    for k in range(2):
        grads = gaia_z_gradients(model, x[k : k + 1]).values()
        expected = sum(int((g == 0).sum()) for g in grads) / sum(g.size for g in grads)
        assert shares[k] == pytest.approx(expected, abs=1e-12)
    assert shares.min() > 0 and shares.max() < 1
