"""Layer lab: GAIA recomputed from kept per-channel values, exactly the engine's with the defaults."""

import numpy as np
import pandas as pd
import pytest

from gaia_core.data import demo_dataset, evenly_spaced
from gaia_core.errors import GaiaError
from gaia_core.evaluation.layer_lab import (
    AGGREGATIONS,
    IdReference,
    LayerRecipe,
    greedy_subset,
    per_layer_metrics,
    recipe_metrics,
    recompute,
    split_halves,
    stage_of,
    stages,
)
from gaia_core.evaluation.scoring import evaluate_dataset
from gaia_core.models import load_model
from gaia_core.scores import create


@pytest.fixture(scope="module")
def demo_scores():
    model = load_model("demo", device="cpu")
    methods = [create("gaia_z"), create("gaia_a")]
    return {
        name: evaluate_dataset(model, evenly_spaced(demo_dataset(name), 48), methods, batch_size=16, keep_channels=True)
        for name in ("digits", "textures", "letters")
    }


@pytest.mark.parametrize("method", ["gaia_z", "gaia_a"])
def test_default_recipe_gives_exactly_the_engine_score(demo_scores, method):
    for scores in demo_scores.values():
        recomputed = recompute(scores.channels[method], LayerRecipe())
        np.testing.assert_array_equal(recomputed.astype(np.float32), scores.table[method].to_numpy(np.float32))


def test_aggregations_on_hand_made_values():
    channels = {"a": np.array([[1.0, 3.0], [0.0, 0.0]]), "b": np.array([[2.0], [1.0]])}
    np.testing.assert_allclose(recompute(channels, LayerRecipe()), [(1 + 9 + 4) / 3, 1 / 3])
    np.testing.assert_allclose(recompute(channels, LayerRecipe(aggregation="mean")), [2.0, 1 / 3])
    np.testing.assert_allclose(recompute(channels, LayerRecipe(aggregation="top_k", k=2)), [(9 + 4) / 2, 1 / 2])
    np.testing.assert_allclose(recompute(channels, LayerRecipe(("b",))), [4.0, 1.0])
    reference = IdReference(mean={"a": 1.0, "b": 2.0}, std={"a": 2.0, "b": 1.0})
    # per-layer mean of squares: a -> [5, 0], b -> [4, 1]; standardized then averaged
    expected = [((5 - 1) / 2 + (4 - 2) / 1) / 2, ((0 - 1) / 2 + (1 - 2) / 1) / 2]
    np.testing.assert_allclose(recompute(channels, LayerRecipe(aggregation="id_standardized"), reference), expected)


def test_bad_recipes_say_what_to_change():
    channels = {"a": np.ones((2, 2))}
    with pytest.raises(GaiaError, match="no kept values for layer"):
        recompute(channels, LayerRecipe(("zzz",)))
    with pytest.raises(GaiaError, match="choose one of"):
        recompute(channels, LayerRecipe(aggregation="median"))
    with pytest.raises(GaiaError, match="at least one layer"):
        recompute(channels, LayerRecipe(()))


def test_stages_group_layers_in_network_order():
    assert stage_of("layer3.0.bn1") == "layer3" and stage_of("bn1") == "stem"
    assert stages(["bn1", "layer1.0.bn1", "layer1.0.bn2", "layer2.0.bn1"]) == {
        "stem": ["bn1"],
        "layer1": ["layer1.0.bn1", "layer1.0.bn2"],
        "layer2": ["layer2.0.bn1"],
    }


def test_recipe_metrics_with_defaults_equal_the_benchmark_metrics(demo_scores):
    from gaia_core.evaluation.metrics import ood_metrics

    id_scores, ood = demo_scores["digits"], {t: demo_scores[t] for t in ("textures", "letters")}
    table = recipe_metrics(
        id_scores.channels["gaia_z"], {t: s.channels["gaia_z"] for t, s in ood.items()}, LayerRecipe()
    )
    for title, scores in ood.items():
        expected = ood_metrics(id_scores.table["gaia_z"], scores.table["gaia_z"])
        assert table.loc[title].to_dict() == pytest.approx(expected)
    assert table.loc["Average", "auroc"] == pytest.approx(table.loc[["textures", "letters"], "auroc"].mean())


def test_per_layer_table_has_every_layer_and_set_in_network_order(demo_scores):
    id_ch = demo_scores["digits"].channels["gaia_a"]
    table = per_layer_metrics(id_ch, {"textures": demo_scores["textures"].channels["gaia_a"]})
    assert list(dict.fromkeys(table["layer"])) == list(id_ch)
    assert set(table["set"]) == {"textures", "Average"} and len(table) == 2 * len(id_ch)
    assert table["auroc"].between(0, 1).all()


def test_split_halves_are_fixed_disjoint_and_cover_everything():
    a, b = split_halves(11, seed=3)
    assert np.array_equal(a, split_halves(11, seed=3)[0])
    assert not set(a) & set(b) and sorted([*a, *b]) == list(range(11)) and len(a) == 5


def test_greedy_subset_selects_on_one_half_and_reports_on_the_other(demo_scores):
    ood = {t: demo_scores[t].channels["gaia_z"] for t in ("textures", "letters")}
    search = greedy_subset(demo_scores["digits"].channels["gaia_z"], ood, max_layers=3)
    assert 1 <= len(search.layers) <= 3 and len(set(search.layers)) == len(search.layers)
    assert list(search.selection_auroc) == sorted(search.selection_auroc)  # each addition helped
    assert isinstance(search.report, pd.DataFrame) and list(search.report.index) == ["textures", "letters", "Average"]
    assert list(search.default_report.index) == list(search.report.index)


def test_every_aggregation_runs_on_real_channels(demo_scores):
    ood = {"textures": demo_scores["textures"].channels["gaia_z"]}
    for aggregation in AGGREGATIONS:
        table = recipe_metrics(demo_scores["digits"].channels["gaia_z"], ood, LayerRecipe(None, aggregation, 8))
        assert 0 <= table.loc["Average", "auroc"] <= 1


def _twin_channels():
    rng = np.random.default_rng(0)

    def one_set(shift_a, shift_b):
        a, b, d = rng.normal(1 + shift_a, 1, (40, 4)), rng.normal(1 + shift_b, 1, (40, 2)), rng.normal(1, 1, (40, 3))
        return {"a": a, "b": b, "c": b.copy(), "d": d}  # "c" gets exactly "b"'s values: twins

    return one_set(0, 0), {"X": one_set(0.5, 0.6)}


def test_greedy_search_takes_twin_layers_as_one_candidate():
    from gaia_core.evaluation.layer_lab import find_twins, layer_candidates

    id_channels, ood_channels = _twin_channels()
    assert find_twins(id_channels, ood_channels) == [("b", "c")]
    assert layer_candidates(list(id_channels), [("b", "c")]) == [("a",), ("b", "c"), ("d",)]
    search = greedy_subset(id_channels, ood_channels)
    # Alone, "b" then "a" then "c" (c only re-weighing b) was picked; now the pair is one pick.
    assert search.candidates == (("b", "c"), ("a",)) and search.layers == ("b", "c", "a")
    assert search.names == ["b = c", "a"]
    assert greedy_subset(id_channels, ood_channels, twins=[]).layers == ("b", "a", "c")


def test_per_layer_table_shows_twins_as_one_row_in_network_order():
    from gaia_core.evaluation.layer_lab import per_layer_table

    id_channels, ood_channels = _twin_channels()
    per_layer = per_layer_metrics(id_channels, ood_channels)
    table = per_layer_table(per_layer, list(id_channels), [("b", "c")])
    assert list(table.index) == ["a", "b = c", "d"] and list(table.columns) == ["X", "Average"]
    wide = per_layer.pivot(index="layer", columns="set", values="auroc")
    assert table.loc["b = c", "X"] == wide.loc["b", "X"] == wide.loc["c", "X"]


def test_demo_search_never_takes_one_twin_without_the_other(demo_scores):
    from gaia_core.evaluation.layer_lab import find_twins

    id_channels = demo_scores["digits"].channels["gaia_a"]
    ood = {n: demo_scores[n].channels["gaia_a"] for n in ("textures", "letters")}
    twins = find_twins(id_channels, ood)
    assert ("layer4.0.bn2", "layer4.0.downsample.1") in twins
    for seed in range(4):
        layers = greedy_subset(id_channels, ood, seed=seed).layers
        assert all(all(n in layers for n in g) or not any(n in layers for n in g) for g in twins)
