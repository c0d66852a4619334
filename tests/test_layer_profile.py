"""One image's per-layer percentiles among the ID images, and their chart, on hand-built values."""

import numpy as np
import pytest
import torch

from gaia_core.app_support.layer_profile import (
    PROFILE_COLUMNS,
    layer_percentiles,
    layer_scores,
    most_abnormal_layers,
)
from gaia_core.charts.layer_percentiles import layer_percentile_figure
from gaia_core.charts.style import ChartError
from gaia_core.errors import AppSupportError
from gaia_core.scores.base import mean_square

# Four ID images; layer "stem" has one channel, "layer1.0.bn1" two. Network order: stem first.
ID_CHANNELS = {
    "stem": np.array([[1.0], [2.0], [3.0], [4.0]]),  # means of squares 1, 4, 9, 16
    "layer1.0.bn1": np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0], [3.0, 1.0]]),  # 0, 1, 2, 5
}


def test_layer_scores_are_each_layers_mean_of_squares_as_the_engine_computes_it():
    scores = layer_scores(ID_CHANNELS)
    np.testing.assert_allclose(scores["stem"], [1, 4, 9, 16])
    np.testing.assert_allclose(scores["layer1.0.bn1"], [0, 1, 2, 5])
    engine = mean_square({"l": torch.from_numpy(ID_CHANNELS["layer1.0.bn1"].astype(np.float32))})
    np.testing.assert_array_equal(scores["layer1.0.bn1"], engine.numpy())


def test_percentiles_are_the_share_of_id_images_at_or_below_the_image_layer_by_layer():
    image = {"stem": np.array([2.5]), "layer1.0.bn1": np.array([3.0, 0.0])}  # 6.25 and 4.5
    profile = layer_percentiles(image, ID_CHANNELS)
    assert list(profile.columns) == PROFILE_COLUMNS
    assert list(profile["layer"]) == ["stem", "layer1.0.bn1"]  # network order kept
    assert list(profile["stage"]) == ["stem", "layer1"]
    np.testing.assert_allclose(profile["value"], [6.25, 4.5])
    np.testing.assert_allclose(profile["percentile"], [50.0, 75.0])  # 2 of 4 ID <= 6.25; 3 of 4 <= 4.5
    np.testing.assert_allclose(profile["id_median"], [6.5, 1.5])


def test_an_image_beyond_every_id_image_is_at_the_100th_percentile_and_below_all_at_0():
    profile = layer_percentiles({"stem": np.array([[5.0]]), "layer1.0.bn1": np.array([-0.0, 0.0])}, ID_CHANNELS)
    assert list(profile["percentile"]) == [100.0, 25.0]  # 0 ties with one ID image at 0
    profile = layer_percentiles({"stem": np.array([0.5])}, ID_CHANNELS)
    assert list(profile["percentile"]) == [0.0]


def test_the_most_abnormal_layers_come_first_ties_in_network_order():
    image = {"stem": np.array([5.0]), "layer1.0.bn1": np.array([3.0, 3.0])}  # both beyond every ID image
    assert list(most_abnormal_layers(layer_percentiles(image, ID_CHANNELS), 1)["layer"]) == ["stem"]


def test_layers_missing_from_the_id_reference_are_named():
    with pytest.raises(AppSupportError, match="layer2"):
        layer_percentiles({"layer2.0.bn1": np.array([1.0])}, ID_CHANNELS)


def test_the_chart_has_one_bar_per_layer_in_network_order_and_colours_the_abnormal_ones():
    profile = layer_percentiles({"stem": np.array([5.0]), "layer1.0.bn1": np.array([1.0, 1.0])}, ID_CHANNELS)
    figure = layer_percentile_figure(profile.iloc[::-1], "GAIA-Z per layer")
    (bars,) = figure.data
    assert list(bars.x) == ["stem", "layer1.0.bn1"]
    assert list(bars.y) == [100.0, 50.0]
    assert bars.marker.color[0] != bars.marker.color[1]
    assert figure.layout.yaxis.range == (0, 105)


def test_the_chart_refuses_a_table_without_percentiles():
    with pytest.raises(ChartError, match="percentile"):
        layer_percentile_figure(
            layer_percentiles({"stem": np.array([1.0])}, ID_CHANNELS).drop(columns="percentile"), "t"
        )
