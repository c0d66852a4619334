"""The teaching charts read from the back of a room at 1024x768 and name one quantity per step
(issue 22 items 7 and 11)."""

import numpy as np
import pytest

from gaia_core import charts
from gaia_core.charts.style import TICK_FONT_SIZE
from gaia_core.charts.what_if import layer_profile_bars, percentile_curves, prediction_curve

STRENGTHS = np.array([0.0, 0.5, 1.0])
LAYERS = {"layer1.0.bn1": np.array([0.4, 0.5, 0.6]), "layer3.0.downsample.1": np.array([0.3, 0.2, 0.1])}


def _builders():
    values = np.array([0.4, 0.5, 0.6])
    return {
        "percentile curves": percentile_curves(
            STRENGTHS, {"gaia_z": np.array([10.0, 50, 99])}, {"gaia_z": 95.0}, {"gaia_z": 1.0}, [0.5], 0.5
        ),
        "prediction": prediction_curve(STRENGTHS, np.array([1, 1, 8]), np.array([0.9, 0.8, 0.7]), [1.0]),
        "layer bars": layer_profile_bars(STRENGTHS, LAYERS, 1, "gaia_z", {"layer1.0.bn1": 0.5}, "r̄"),
        "r_c bars": charts.nonzero_ratio_bar(values),
        "zero-ratio bars": charts.zero_ratio_bar(values),
        "channel averages": charts.channel_average_bar(values),
        "aggregation": charts.aggregation_figure({"ID": values, "OOD": values[::-1]}, id_name="ID"),
        "histogram": charts.score_histogram({"digits": values, "noise": values + 1}, "digits", 0.5, "GAIA-Z"),
    }


@pytest.mark.parametrize("name", list(_builders()))
def test_tick_labels_are_at_least_12_px(name):
    fig = _builders()[name]
    assert TICK_FONT_SIZE >= 12
    assert fig.layout.xaxis.tickfont.size >= 12 and fig.layout.yaxis.tickfont.size >= 12, name


def test_a_builders_own_axis_settings_survive_the_tick_font():
    fig = _builders()["percentile curves"]
    assert tuple(fig.layout.yaxis.range) == (-2, 102) and fig.layout.yaxis.title.text == "percentile among ID scores"
    assert fig.layout.xaxis.title.text == "strength"


def test_what_if_layer_bars_are_horizontal_with_the_layers_read_left_to_right_in_network_order():
    fig = layer_profile_bars(STRENGTHS, LAYERS, 2, "gaia_z", {"layer1.0.bn1": 0.5}, "r̄")
    ids, image = fig.data
    assert ids.orientation == image.orientation == "h"
    assert list(image.y) == list(LAYERS) and list(image.x) == [0.6, 0.1]
    assert fig.layout.yaxis.tickangle == 0 and fig.layout.yaxis.autorange == "reversed"
    assert fig.layout.xaxis.title.text == "r̄" and image.name == "this image at 1.00"


def test_step_3_chart_names_r_c_in_its_title_axis_and_mean_as_the_formula_and_sentence_do():
    fig = charts.nonzero_ratio_bar(np.array([0.4, 0.5, 0.6]))
    assert fig.layout.title.text.startswith("r_c per channel")
    assert fig.layout.yaxis.title.text == "r_c (fraction of non-zero entries)"
    (label,) = [a.text for a in fig.layout.annotations if "mean" in a.text]
    assert label == "mean<br>r_c 0.50"  # as the walk-through's sentence writes it ("mean r_c 0.50")
    assert list(fig.data[0].y) == [0.4, 0.5, 0.6] and "60.0% zeros" in fig.data[0].hovertext[0]
    with pytest.raises(charts.ChartError):
        charts.nonzero_ratio_bar(np.array([1.2]))


def test_a_gradient_mosaic_of_16_of_64_channels_draws_4_by_4_large_tiles():
    grad = np.random.default_rng(0).normal(size=(64, 8, 8))
    fig = charts.gradient_grid_figure(grad, max_channels=16)
    assert "(16 of 64 channels)" in fig.layout.title.text
    assert np.asarray(fig.data[0].z).shape == (4 * 9 - 1, 4 * 9 - 1)
