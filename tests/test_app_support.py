"""The app's page computations: thresholds, verdicts, misflagged rows, disagreements, metrics
side by side, channel regrouping, display images and attribution readouts."""

import numpy as np
import pandas as pd
import pytest
import torch

from gaia_core.app_support import channel_values, readouts, tables
from gaia_core.attribution import AttributionConfig
from gaia_core.data import ArrayDataset, images
from gaia_core.demo.model import build_demo_model
from gaia_core.errors import AppSupportError
from gaia_core.evaluation.metrics import METRIC_KEYS
from gaia_core.evaluation.ood_tables import metrics_by_method, thresholds_at_tpr
from gaia_core.evaluation.results import DatasetScores


def _scores(title: str, gaia: list[float], msp: list[float], channels: np.ndarray | None = None) -> DatasetScores:
    n = len(gaia)
    table = pd.DataFrame(
        {
            "sample_id": [f"{title}:{i}" for i in range(n)],
            "dataset": title,
            "index": np.arange(n),
            "path": "",
            "label": -1,
            "pred": 0,
            "confidence": 0.5,
            "gaia_a": gaia,
            "msp": msp,
        }
    )
    layer_channels = {} if channels is None else {"gaia_a": {"layer1": channels}}
    return DatasetScores(title, title, ["gaia_a", "msp"], table, layer_channels)


@pytest.fixture
def world():
    # ID gaia scores 1..10: the 95%-TPR threshold is the 10th smallest = 10 (ceil(9.5) = 10).
    id_scores = _scores("digits", list(range(1, 11)), [0.0] * 9 + [5.0], np.arange(20.0).reshape(10, 2))
    ood = {
        "noise": _scores("noise", [12.0, 3.0, 20.0], [1.0, 9.0, 0.0], np.full((3, 2), 100.0)),
        "letters": _scores("letters", [9.5, 11.0], [0.0, 0.0], np.full((2, 2), 50.0)),
    }
    return id_scores, ood


def test_thresholds_keep_the_asked_fraction_of_id(world):
    id_scores, _ = world
    thresholds = thresholds_at_tpr(id_scores.table, ["gaia_a", "msp"], 0.95)
    assert thresholds == {"gaia_a": 10.0, "msp": 5.0}
    assert thresholds_at_tpr(id_scores.table, ["gaia_a"], 0.8) == {"gaia_a": 8.0}
    with pytest.raises(AppSupportError, match="energy"):
        thresholds_at_tpr(id_scores.table, ["energy"])


def test_score_verdicts_give_percentile_and_flag_at_the_threshold(world):
    id_scores, _ = world
    thresholds = {"gaia_a": 10.0, "msp": 5.0}
    verdicts = tables.score_verdicts({"gaia_a": 10.0, "msp": 6.0}, id_scores.table, thresholds).set_index("method")
    assert verdicts.loc["gaia_a", "id_percentile"] == 100.0 and not verdicts.loc["gaia_a", "flagged"]
    assert verdicts.loc["msp", "flagged"] and verdicts.loc["msp", "label"] == "MSP"
    assert tables.score_verdicts({"gaia_a": 3.5}, id_scores.table, thresholds).loc[0, "id_percentile"] == 30.0
    without = tables.score_verdicts({"gaia_a": 3.0}, None, None)
    assert np.isnan(without.loc[0, "id_percentile"]) and without.loc[0, "flagged"] is None


def test_combined_table_marks_set_role_and_row(world):
    id_scores, ood = world
    table = tables.combined_table(id_scores, ood)
    assert len(table) == 15 and list(table.index) == list(range(15))
    assert table[tables.IS_ID_COLUMN].sum() == 10
    letters = table[table[tables.SET_COLUMN] == "letters"]
    assert list(letters[tables.ROW_COLUMN]) == [0, 1] and list(letters["gaia_a"]) == [9.5, 11.0]


def test_misflagged_lists_flagged_id_and_accepted_ood_sorted_by_score(world):
    id_scores, ood = world
    table = tables.combined_table(id_scores, ood)
    id_flagged, ood_accepted = tables.misflagged(table, "gaia_a", threshold=8.0)
    assert list(id_flagged["sample_id"]) == ["digits:9", "digits:8"]  # scores 10, 9 > 8
    assert list(ood_accepted["sample_id"]) == ["noise:1"]  # 3 <= 8; 9.5 > 8 is caught
    _, ascending = tables.misflagged(table, "gaia_a", threshold=10.0, most_abnormal_first=False)
    assert list(ascending["gaia_a"]) == [3.0, 9.5]


def test_selected_rows_are_found_by_set_and_row_within_that_set(world):
    id_scores, ood = world
    table = tables.combined_table(id_scores, ood)
    picked = tables.selected_rows(table, {"noise": [2, 0], "letters": [1]})
    assert list(picked["sample_id"]) == ["noise:0", "noise:2", "letters:1"]
    assert tables.selected_rows(table, {}).empty
    by_id = tables.selected_rows(table, {"letters": ["letters:1"], "noise": ["noise:9"]}, column="sample_id")
    assert list(by_id["sample_id"]) == ["letters:1"]


def test_flag_counts_count_the_methods_above_their_threshold(world):
    id_scores, ood = world
    table = tables.combined_table(id_scores, ood)
    counts = tables.flag_counts(table, {"gaia_a": 10.0, "msp": 5.0})
    noise = table[tables.SET_COLUMN] == "noise"  # gaia_a 12, 3, 20; msp 1, 9, 0
    assert list(counts[noise.to_numpy()]) == [1, 1, 1]
    assert counts[(table["sample_id"] == "digits:9").to_numpy()][0] == 0  # 10 is not above 10
    assert not tables.flag_counts(table, {}).any()


def test_disagreement_keeps_rows_one_method_flags_and_the_other_does_not(world):
    id_scores, ood = world
    table = tables.combined_table(id_scores, ood)
    thresholds = {"gaia_a": 10.0, "msp": 5.0}
    gaia_only = tables.disagreement(table, "gaia_a", "msp", thresholds, "a_only")
    msp_only = tables.disagreement(table, "gaia_a", "msp", thresholds, "b_only")
    assert set(gaia_only["sample_id"]) == {"noise:0", "noise:2", "letters:1"}
    assert list(msp_only["sample_id"]) == ["noise:1"]
    assert tables.disagreement(table, "gaia_a", "msp", thresholds, "all") is table
    with pytest.raises(AppSupportError):
        tables.disagreement(table, "gaia_a", "msp", thresholds, "both")


def test_metrics_by_method_for_one_set_or_the_average():
    metrics = {
        "gaia_a": {
            "noise": dict(fpr95=0.1, auroc=0.9, aupr_in=0.8, aupr_out=0.7),
            "letters": dict(fpr95=0.3, auroc=0.7, aupr_in=0.6, aupr_out=0.5),
        },
        "msp": {
            "noise": dict(fpr95=0.5, auroc=0.6, aupr_in=0.6, aupr_out=0.6),
            "letters": dict(fpr95=0.7, auroc=0.5, aupr_in=0.5, aupr_out=0.5),
        },
    }
    average = metrics_by_method(metrics)
    assert list(average.index) == ["gaia_a", "msp"] and list(average.columns) == list(METRIC_KEYS)
    assert average.loc["gaia_a", "fpr95"] == pytest.approx(0.2) and average.loc["msp", "auroc"] == pytest.approx(0.55)
    assert metrics_by_method(metrics, "letters").loc["msp", "fpr95"] == 0.7
    with pytest.raises(AppSupportError, match="svhn"):
        metrics_by_method(metrics, "svhn")


def test_channels_are_pooled_over_sets_and_reduced_per_layer(world):
    id_scores, ood = world
    pooled = channel_values.pooled_channels([ood["noise"].channels["gaia_a"], ood["letters"].channels["gaia_a"]])
    assert pooled["layer1"].shape == (5, 2) and pooled["layer1"][:3].max() == 100.0
    per_image = channel_values.layer_values(id_scores.channels["gaia_a"], per="image")
    assert np.allclose(per_image["layer1"], np.arange(10) * 2 + 0.5)  # rows [2i, 2i + 1]
    every = channel_values.layer_values(id_scores.channels["gaia_a"], per="channel", max_values=7)
    assert every["layer1"].size == 7 and set(every["layer1"]) <= set(range(20))


def test_one_images_profile_and_concatenated_channels():
    channels = {"a": np.array([[1.0, 3.0], [5.0, 7.0]]), "b": np.array([[2.0], [4.0]])}
    row = channel_values.row_channels(channels, 1)
    assert channel_values.image_profile(row) == {"a": 6.0, "b": 4.0}
    assert list(channel_values.concat_channels(row)) == [5.0, 7.0, 4.0]


def test_selected_points_map_back_to_rows_of_their_set():
    points = [
        {"curve_number": 1, "customdata": [4, "noise:4"]},
        {"curve_number": 1, "customdata": [2, "noise:2"]},
        {"curve_number": 0, "customdata": [0, "digits:0"]},
        {"curve_number": 5, "customdata": [1, "x"]},
        {"curve_number": 0},
    ]
    assert channel_values.points_to_rows(points, ["digits", "noise"]) == {"digits": [0], "noise": [2, 4]}
    assert channel_values.points_to_rows([], ["digits"]) == {}


def test_upscale_is_nearest_neighbour_by_a_whole_factor():
    rgb = np.array([[[0, 0, 0], [255, 255, 255]]], dtype=np.uint8)  # 1x2
    big = images.upscale(rgb, min_side=3)
    assert big.shape == (3, 6, 3) and set(np.unique(big)) == {0, 255}
    assert (big[:, :3] == 0).all() and (big[:, 3:] == 255).all()
    large = np.zeros((200, 300, 3), np.uint8)
    assert images.upscale(large, 128) is large


def test_display_image_undoes_the_normalization():
    x = torch.full((1, 2, 2), (0.5 - 0.25) / 0.5)  # pixel 0.5 under mean 0.25, std 0.5
    shown = images.display_image(x, (0.25,), (0.5,), min_side=4)
    assert shown.shape == (4, 4, 3) and (shown == 128).all()


def test_attribution_readouts_cover_the_asked_samples_with_every_readout():
    pixels = np.random.default_rng(0).random((6, 1, 32, 32), dtype=np.float32)
    dataset = ArrayDataset(pixels, None, "rand", lambda t: (t - 0.3) / 0.3)
    model = build_demo_model().eval()
    seen = []
    found = readouts.attribution_readouts(
        model, dataset, AttributionConfig(method="saliency"), max_samples=3, progress=lambda d, t: seen.append((d, t))
    )
    assert found.sample_ids == ["rand:0", "rand:2", "rand:5"]  # evenly spaced
    assert set(found.values) == {"sparsity", "entropy", "top_mass"}
    assert all(v.shape == (3,) for v in found.values.values())
    assert ((found.values["entropy"] > 0) & (found.values["entropy"] <= 1)).all()
    assert seen and seen[-1] == (3, 3)


def test_image_summary_lists_prediction_flags_and_scores_per_image():
    table = pd.DataFrame(
        {"sample_id": ["a", "b"], "pred": [3, 7], "confidence": [0.9, 0.4], "msp": [-0.9, -0.4], "gaia_z": [0.1, 0.5]}
    )
    plain = tables.image_summary(table, ["gaia_z", "msp"], lambda k: f"class {k}")
    assert list(plain.columns) == ["image", "prediction", "confidence", "GAIA-Z", "MSP"]
    assert list(plain["prediction"]) == ["class 3", "class 7"]
    flagged = tables.image_summary(table, ["gaia_z", "msp"], str, {"gaia_z": 0.2, "msp": -0.5})
    assert list(flagged["flagged by"]) == ["0 of 2", "2 of 2"]
    assert list(flagged.columns).index("flagged by") == 3


def test_model_correct_and_the_mistakes_among_false_alarms():
    rows = pd.DataFrame({"label": [3, 7, 2, -1], "pred": [3, 1, 5, 4]})
    assert list(tables.model_correct(rows)) == [True, False, False, None]
    assert tables.mistakes_among(rows) == (2, 3)
    assert tables.mistakes_among(rows.iloc[:0]) == (0, 0)
