"""Issue 14 on the histograms of ID vs OOD: a box drag selects, the ID set has its own colour and an
outline on top, one OOD set at a time, MSP's spike at -1 stays visible on an axis that ends at the
data, and the attribution readout's AUROC of ID against each OOD set."""

import numpy as np
import plotly.graph_objects as go
import pytest

from gaia_core import charts
from gaia_core.app_support.readouts import readout_separation
from gaia_core.charts.distributions import shown_sets
from gaia_core.charts.style import ID_COLOR, OOD_PALETTE

SETS = ("digits", "letters", "natural", "textures", "noise", "shifted")


@pytest.fixture
def six_sets():
    rng = np.random.default_rng(3)
    return {name: rng.normal(k, 1.0, 50) for k, name in enumerate(SETS)}


def _bars(fig):
    return [t for t in fig.data if isinstance(t, go.Bar)]


def _outline(fig):
    (line,) = [t for t in fig.data if isinstance(t, go.Scatter)]
    return line


def _is_blueish(hex_color: str) -> bool:
    r, g, b = (int(hex_color[k : k + 2], 16) for k in (1, 3, 5))
    return b > 150 and b > r + 40 and b >= g


def test_histograms_start_in_box_selection_over_an_x_range(six_sets):
    for fig in (
        charts.score_histogram(six_sets, "digits", 1.0, "GAIA-A"),
        charts.readout_distribution_figure(six_sets, "Sparsity (Gini)", "digits"),
    ):
        assert fig.layout.dragmode == "select"
        assert fig.layout.selectdirection == "h"  # a drag across bars selects them whatever their height
        assert fig.layout.clickmode == "event+select"
        assert fig.layout.legend.orientation == "v" and fig.layout.legend.x > 1  # right of the plot, off the title


def test_id_set_colour_is_used_by_no_ood_set_and_no_ood_set_is_blue(six_sets):
    assert not any(_is_blueish(c) for c in OOD_PALETTE)
    assert ID_COLOR not in OOD_PALETTE
    colors = charts.dataset_colors(SETS, "digits")
    assert len(set(colors.values())) == len(SETS)
    fig = charts.score_histogram(six_sets, "digits", 1.0, "GAIA-A", colors=colors)
    bar_colors = {t.name: t.marker.color for t in _bars(fig)}
    assert bar_colors["digits (ID)"] == ID_COLOR
    assert not any(_is_blueish(c) for name, c in bar_colors.items() if name != "digits (ID)")


def test_id_histogram_is_outlined_by_a_step_line_drawn_over_every_bar(six_sets):
    fig = charts.score_histogram(six_sets, "digits", 1.0, "GAIA-A", bins=20)
    line = _outline(fig)
    assert fig.data[-1] is line  # drawn last: on top of the OOD bars
    assert line.line.shape == "hv" and line.line.color == ID_COLOR and line.line.width >= 2
    id_bar = _bars(fig)[0]
    edges = charts.histogram_edges(six_sets, 20)
    np.testing.assert_allclose(line.x, np.concatenate([edges[:1], edges]))
    np.testing.assert_allclose(line.y[1:-1], id_bar.y)  # each step at its bar's height
    assert line.y[0] == line.y[-1] == 0
    assert line.hoverinfo == "skip" and line.showlegend is False


def test_show_draws_the_id_set_and_the_chosen_set_only_on_the_shared_bins(six_sets):
    every = charts.score_histogram(six_sets, "digits", 1.0, "GAIA-A", bins=20)
    one = charts.score_histogram(six_sets, "digits", 1.0, "GAIA-A", bins=20, show="noise")
    assert [t.name for t in _bars(one)] == ["digits (ID)", "noise"]
    assert _outline(one).line.color == ID_COLOR
    np.testing.assert_allclose(_bars(one)[1].y, _bars(every)[4].y)  # same bins: same bars
    assert one.layout.xaxis.range == every.layout.xaxis.range
    readout = charts.readout_distribution_figure(six_sets, "Entropy", "digits", show="letters")
    assert [t.name for t in _bars(readout)] == ["digits (ID)", "letters"]
    with pytest.raises(charts.ChartError, match="cannot show 'mnist'"):
        charts.score_histogram(six_sets, "digits", 1.0, "GAIA-A", show="mnist")


def test_a_bar_selected_with_one_set_shown_maps_back_to_that_sets_rows(six_sets):
    fig = charts.score_histogram(six_sets, "digits", 1.0, "GAIA-A", bins=20, show="textures")
    edges = charts.histogram_edges(six_sets, 20)
    shown = {name: six_sets[name] for name in shown_sets(six_sets, "digits", "textures")}
    textures = _bars(fig)[1]
    b = int(np.argmax(textures.y))
    by_custom = {"curve_number": 1, "customdata": list(textures.customdata[b])}
    by_curve = {"curve_number": 1, "x": float(textures.x[b])}
    expected = charts.samples_in_bin(six_sets["textures"], edges, b).tolist()
    for point in (by_custom, by_curve):
        rows = charts.rows_in_selection([point], shown, edges)
        assert list(rows) == ["textures"] and rows["textures"].tolist() == expected
    outline_point = {"curve_number": 2, "x": float(textures.x[b])}
    assert charts.rows_in_selection([outline_point], shown, edges) == {}


def _msp_like(n: int, at_minus_one: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    values = -np.ones(n)
    k = int(n * (1 - at_minus_one))
    values[:k] = -rng.uniform(0.3, 1.0, k)
    return values


def test_msp_spike_at_minus_one_is_on_top_and_the_axis_ends_at_the_data():
    scores = {
        "digits": _msp_like(1000, 0.9, 0),
        "noise": _msp_like(1000, 0.95, 1),  # a taller spike in the same bin: it used to hide the ID's
        "letters": _msp_like(1000, 0.3, 2),
    }
    fig = charts.score_histogram(scores, "digits", -0.99, "MSP", bins=50)
    edges = charts.histogram_edges(scores, 50)
    low, high = fig.layout.xaxis.range
    width = edges[1] - edges[0]
    assert -1 - width <= low <= -1 and high <= max(v.max() for v in scores.values()) + width
    id_bar, line = _bars(fig)[0], _outline(fig)
    spike = np.mean(scores["digits"] < edges[1]) / width  # >= 90% of the ID images, in the first bin
    assert spike >= 0.9 / width
    assert id_bar.y[0] == pytest.approx(spike) and line.y[1] == pytest.approx(spike)
    assert fig.data[-1] is line  # the ID spike's outline is drawn over noise's taller bar


def test_readout_auroc_of_id_vs_each_ood_set_has_the_known_value_and_direction():
    values = {
        "digits": np.array([1.0, 2.0, 3.0, 4.0, np.nan]),  # a map without a readout is left out
        "letters": np.array([3.5, 5.0, 6.0, 7.0]),  # P(OOD > ID) = 15/16
        "noise": np.array([0.0, 0.5, 1.0, 1.5]),  # P(OOD > ID) = (0 + 0 + 0.5 + 1) / 16
        "blank": np.array([np.nan]),
    }
    sparsity = readout_separation(values, "digits", "sparsity")
    assert sparsity["letters"].auroc == pytest.approx(15 / 16)
    assert sparsity["letters"].ood_more_concentrated is True
    assert sparsity["noise"].auroc == pytest.approx(1.5 / 16)
    assert sparsity["noise"].best_auroc == pytest.approx(14.5 / 16)
    assert sparsity["noise"].ood_more_concentrated is False
    assert sparsity["blank"] is None
    # Issue 22 item 15: percent with one decimal, as the metrics table, and said to be folded.
    assert sparsity["letters"].describe("letters") == (
        "letters: AUROC 93.8% (folded: max(AUROC, 1 − AUROC)), OOD more concentrated"
    )
    assert sparsity["noise"].short("noise") == "noise 90.6% (OOD less concentrated)"
    entropy = readout_separation(values, "digits", "entropy")  # higher entropy = more spread
    assert entropy["letters"].ood_more_concentrated is False


def test_readout_auroc_summary_is_shown_in_the_chart_title():
    values = {"digits": np.array([1.0, 2.0, 3.0, 4.0]), "letters": np.array([3.5, 5.0, 6.0, 7.0])}
    note = readout_separation(values, "digits", "sparsity")["letters"].describe("letters")
    fig = charts.readout_distribution_figure(values, "Sparsity (Gini)", "digits", note=note)
    assert "letters: AUROC 93.8% (folded: max(AUROC, 1 − AUROC)), OOD more concentrated" in fig.layout.title.text
