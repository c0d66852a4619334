import numpy as np
import pytest

from gaia_core.teaching.story import compare_layer, dominant_channels, same_gradient_layers


def test_the_facts_follow_the_numbers_and_change_when_the_images_change():
    digit = np.array([0.5, 0.5, 0.5, 0.5])  # fewer zeros, no spread
    texture = np.array([0.9, 0.1, 0.8, 0.0])  # more zeros, wide spread
    facts = compare_layer("layer3", {"ID": digit, "OOD": texture}, {"ID": 0.2, "OOD": 0.4})
    assert facts.mean_nonzero == pytest.approx({"ID": 0.5, "OOD": 0.45})
    assert facts.more_zeros == "OOD"  # the paper's "more units switched on" does not hold here
    assert facts.wider_spread == "OOD"
    assert facts.layer_score["OOD"] == pytest.approx((0.81 + 0.01 + 0.64) / 4)
    assert facts.higher_layer_score == "OOD" and facts.agrees_with_final
    assert facts.dominant_channels["OOD"] == [0]  # 0.81 of 1.46
    assert not facts.all_ones

    swapped = compare_layer("layer3", {"ID": texture, "OOD": digit}, {"ID": 0.2, "OOD": 0.4})
    assert swapped.more_zeros == "ID" and swapped.wider_spread == "ID"
    assert swapped.higher_layer_score == "ID" and not swapped.agrees_with_final
    assert swapped.text != facts.text


def test_a_layer_with_ratio_one_everywhere_is_reported_as_unable_to_separate():
    facts = compare_layer("fc_in", {"ID": np.ones(8), "OOD": np.ones(8)}, {"ID": 0.1, "OOD": 0.3})
    assert facts.all_ones and facts.more_zeros is None and facts.wider_spread is None
    assert facts.higher_layer_score is None


def test_dominant_channels_are_the_fewest_that_make_half_the_sum_of_squares():
    assert dominant_channels(np.array([0.1, 1.0, 0.2, 0.9])) == [1]
    assert dominant_channels(np.array([0.5, 0.5, 0.5, 0.5])) == [0, 1]


def test_layers_with_equal_gradients_are_paired_and_others_not():
    g = np.random.default_rng(0).normal(size=(4, 3, 3))
    pairs = same_gradient_layers({"block.bn2": g, "block.shortcut.1": g.copy(), "other": g * 2, "small": g[:2]})
    assert pairs == [("block.bn2", "block.shortcut.1")]
