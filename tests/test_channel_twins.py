"""Issue 14: layers that necessarily share a gradient (a ResNet block's last norm and its shortcut's
norm feed one sum) have identical per-channel values; the Channel abnormality page shows them once,
under a merged name, instead of as twin channels in its rankings and violins."""

from __future__ import annotations

import numpy as np
import pytest

from gaia_core.evaluation import twins

RNG = np.random.default_rng(0)
SHARED = RNG.uniform(0.2, 0.9, size=(6, 4))


def _channels() -> dict[str, np.ndarray]:
    return {
        "layer1.0.bn2": RNG.uniform(size=(6, 4)),
        "layer2.0.bn2": SHARED,
        "layer2.0.downsample.1": SHARED.copy(),
        "layer2.0.near": SHARED * (1 + 1e-3),  # close on every image, yet not the same gradient
        "layer2.0.wider": np.hstack([SHARED, SHARED]),  # other shape
        "fc": RNG.uniform(size=(6, 4)),
    }


def test_twin_layers_finds_layers_with_equal_values_on_every_image():
    assert twins.twin_layers(_channels()) == [("layer2.0.bn2", "layer2.0.downsample.1")]


def test_layers_whose_values_never_vary_are_not_called_twins():
    # r_c = 1 on every image at two layers: equal, but no evidence that they share a gradient.
    ones = np.ones((6, 4))
    assert twins.twin_layers({"layer1.0.bn1": ones, "layer3.1.bn1": ones.copy()}) == []


def test_twin_layers_does_not_merge_near_but_unequal_values_or_other_shapes():
    channels = _channels()
    del channels["layer2.0.downsample.1"]
    assert twins.twin_layers(channels) == []
    one_image_differs = SHARED.copy()
    one_image_differs[3, 1] += 0.01
    assert twins.twin_layers({"a": SHARED, "b": one_image_differs}) == []
    assert twins.twin_layers({"a": SHARED, "b": SHARED[:, :3]}) == []
    assert twins.twin_layers({"a": SHARED, "b": SHARED[:5]}) == []


def test_twin_layers_must_be_equal_in_every_set_given():
    id_set = {"a": SHARED, "b": SHARED.copy()}
    ood_set = {"a": SHARED, "b": SHARED + 0.1}
    assert twins.twin_layers(id_set) == [("a", "b")]
    assert twins.twin_layers(id_set, ood_set) == []


def test_twin_layers_groups_three_equal_layers_and_tolerates_rounding():
    channels = {"x": SHARED, "a": SHARED, "c": RNG.uniform(size=(6, 4)), "b": SHARED * (1 + 1e-9)}
    assert twins.twin_layers(channels) == [("x", "a", "b")]


def test_twin_layers_compares_each_pair_in_the_sets_that_hold_both():
    """GAIA-A taps only the late layers, GAIA-Z every layer: a twin pair GAIA-A lacks is still found."""
    late = RNG.uniform(size=(6, 4))
    gaia_z = {"layer2.bn2": SHARED, "layer2.down": SHARED.copy(), "layer3.bn2": late, "layer3.down": late.copy()}
    gaia_a = {"layer3.bn2": late * 2, "layer3.down": late * 2}
    assert twins.twin_layers(gaia_a, gaia_z) == [("layer3.bn2", "layer3.down"), ("layer2.bn2", "layer2.down")]
    assert twins.twin_layers(gaia_z, gaia_a) == [("layer2.bn2", "layer2.down"), ("layer3.bn2", "layer3.down")]
    gaia_a["layer3.down"] = late * 3
    assert twins.twin_layers(gaia_z, gaia_a) == [("layer2.bn2", "layer2.down")]


def test_merge_twins_keeps_one_entry_under_the_merged_name_in_network_order():
    channels = _channels()
    groups = twins.twin_layers(channels)
    merged = twins.merge_twins(channels, groups)
    assert list(merged) == [
        "layer1.0.bn2",
        "layer2.0.bn2 = layer2.0.downsample.1",
        "layer2.0.near",
        "layer2.0.wider",
        "fc",
    ]
    assert merged["layer2.0.bn2 = layer2.0.downsample.1"] is channels["layer2.0.bn2"]
    assert twins.merge_twins(channels, []) == channels


def test_merge_twins_names_only_the_twins_present_in_the_values_order():
    channels = {"a": SHARED, "b": SHARED, "c": SHARED}
    assert list(twins.merge_twins(channels, [("c", "a", "zz")])) == ["a = c", "b"]
    assert twins.twins_present(channels, [("c", "a", "zz"), ("b", "zz")]) == [("a", "c")]
    assert list(twins.merge_twins({"a": SHARED, "c": SHARED}, [("a", "zz")])) == ["a", "c"]


@pytest.mark.parametrize(
    "name,layer",
    [("layer2.0.bn2 = layer2.0.downsample.1", "layer2.0.bn2"), ("layer3.1.bn2", "layer3.1.bn2")],
)
def test_a_merged_name_maps_back_to_its_first_layer(name, layer):
    assert twins.source_layer(name) == layer


def test_scored_twins_look_across_sets_and_methods_and_keep_network_order():
    from types import SimpleNamespace

    inner = {"layer3.0.bn2": SHARED, "layer3.0.downsample.1": SHARED.copy()}  # GAIA-A: layer3 only
    every = {"bn1": RNG.uniform(size=(6, 4)), "layer2.0.bn2": SHARED * 2, "layer2.0.downsample.1": SHARED * 2}
    every |= inner
    sets = [SimpleNamespace(channels={"gaia_a": inner, "gaia_z": every}) for _ in range(2)]
    expected = [("layer2.0.bn2", "layer2.0.downsample.1"), ("layer3.0.bn2", "layer3.0.downsample.1")]
    assert twins.scored_twins(sets, ["gaia_a", "gaia_z"]) == expected
    assert twins.scored_twins(sets, ["gaia_z", "gaia_a"]) == expected
