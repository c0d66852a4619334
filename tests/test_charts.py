"""The chart builders of `gaia_core.charts`: trace layout, helpers that map selections back to
rows, known-answer statistics, purity (no input mutation, determinism, no streamlit)."""

import copy
import re
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from sklearn.metrics import roc_auc_score

from gaia_core import charts
from gaia_core.charts import ChartError
from gaia_core.charts.layer_lab import per_layer_figure
from gaia_core.charts.layer_percentiles import layer_percentile_figure
from gaia_core.charts.what_if import layer_profile_bars, percentile_curves, prediction_curve
from gaia_core.evaluation.metrics import percentile_of

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def scores():
    rng = np.random.default_rng(0)
    return {"digits": rng.normal(0.0, 1.0, 60), "noise": rng.normal(3.0, 1.0, 25), "letters": rng.normal(1.5, 0.5, 40)}


@pytest.fixture
def channel_values():
    rng = np.random.default_rng(1)
    id_values = {"layer1.0.bn1": rng.random((30, 4)), "layer2.0.bn1": rng.random((30, 6))}
    ood_values = {"layer1.0.bn1": rng.random((20, 4)), "layer2.0.bn1": rng.random((20, 6))}
    ood_values["layer2.0.bn1"][:, 3] += 2.0  # the planted separating channel
    return id_values, ood_values


# --- histograms and selections -------------------------------------------------------------


def test_score_histogram_has_one_density_bar_trace_per_set_on_shared_bins(scores):
    fig = charts.score_histogram(scores, "digits", threshold=1.2, method_label="GAIA-A", bins=20)
    assert [type(t) for t in fig.data] == [go.Bar] * 3 + [go.Scatter]  # the bars, then the ID outline
    assert [t.name for t in fig.data[:3]] == ["digits (ID)", "noise", "letters"]
    for trace in fig.data[:3]:
        np.testing.assert_allclose(trace.x, fig.data[0].x)
        assert np.sum(np.asarray(trace.y) * np.asarray(trace.width)) == pytest.approx(1.0)
    assert fig.layout.barmode == "overlay"
    assert "higher = more likely OOD" in fig.layout.xaxis.title.text


def test_score_histogram_draws_the_threshold_line_at_the_given_x(scores):
    fig = charts.score_histogram(scores, "digits", threshold=1.2345, method_label="GAIA-Z")
    (line,) = fig.layout.shapes
    assert line.x0 == line.x1 == 1.2345
    assert any("95% TPR threshold" in a.text for a in fig.layout.annotations)
    assert charts.score_histogram(scores, "digits", threshold=None, method_label="GAIA-Z").layout.shapes == ()


def test_score_histogram_bar_customdata_is_bin_index_set_and_count(scores):
    fig = charts.score_histogram(scores, "digits", None, "MSP", bins=10)
    edges = charts.histogram_edges(scores, 10)
    for trace, (name, values) in zip(fig.data, scores.items()):
        counts, _ = np.histogram(values, edges)
        assert [list(c) for c in trace.customdata] == [[b, name, int(counts[b])] for b in range(10)]


def test_score_histogram_hover_lists_sample_ids_of_the_bar():
    fig = charts.score_histogram(
        {"digits": np.array([0.0, 0.1, 5.0])},
        "digits",
        None,
        "MSP",
        bins=2,
        sample_ids={"digits": ["a", "b", "c"]},
    )
    assert "a, b" in fig.data[0].hovertext[0] and "c" in fig.data[0].hovertext[1]


def test_samples_in_bin_recovers_exactly_the_rows_of_each_bin_including_the_last_right_edge():
    values = np.array([0.0, 1.0, 2.0, 2.5, 3.0, 4.0, 1.0])
    edges = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    assert charts.samples_in_bin(values, edges, 0).tolist() == [0]
    assert charts.samples_in_bin(values, edges, 1).tolist() == [1, 6]
    assert charts.samples_in_bin(values, edges, 2).tolist() == [2, 3]
    assert charts.samples_in_bin(values, edges, 3).tolist() == [4, 5]  # 4.0 is the last right edge
    with pytest.raises(ChartError):
        charts.samples_in_bin(values, edges, 4)


def test_samples_in_bin_agrees_with_numpy_histogram_counts(scores):
    edges = charts.histogram_edges(scores, 17)
    for values in scores.values():
        counts, _ = np.histogram(values, edges)
        rows = [charts.samples_in_bin(values, edges, b) for b in range(17)]
        assert [r.size for r in rows] == counts.tolist()
        assert sorted(np.concatenate(rows).tolist()) == list(range(values.size))


def test_histogram_edges_span_all_sets_and_widen_a_single_value():
    edges = charts.histogram_edges({"a": np.array([1.0, 2.0]), "b": np.array([5.0])}, bins=4)
    assert edges[0] == 1.0 and edges[-1] == 5.0 and edges.size == 5
    np.testing.assert_allclose(charts.histogram_edges({"a": np.array([3.0, 3.0])}, bins=2), [2.5, 3.0, 3.5])


def test_rows_in_selection_maps_selected_bars_to_rows_by_customdata_or_curve_number():
    scores = {"digits": np.array([0.0, 0.2, 3.9]), "noise": np.array([3.5, 4.0, 0.1])}
    fig = charts.score_histogram(scores, "digits", None, "MSP", bins=4)
    edges = charts.histogram_edges(scores, 4)
    last_noise_bar = {"curve_number": 1, "point_index": 3, "customdata": list(fig.data[1].customdata[3])}
    first_digits_bar = {"curve_number": 0, "point_index": 0, "x": float(fig.data[0].x[0])}
    rows = charts.rows_in_selection([last_noise_bar, first_digits_bar], scores, edges)
    assert rows["noise"].tolist() == [0, 1]
    assert rows["digits"].tolist() == [0, 1]


def test_readout_distribution_leaves_nan_out_but_keeps_row_indices():
    values = {"digits": np.array([0.1, np.nan, 0.9]), "noise": np.array([0.5, 0.6])}
    fig = charts.readout_distribution_figure(values, "Gini sparsity", id_name="digits", bins=2)
    assert len([t for t in fig.data if t.type == "bar"]) == 2 and "1 maps without a readout" in fig.layout.title.text
    assert sum(c[2] for c in fig.data[0].customdata) == 2
    edges = charts.histogram_edges(values, 2)
    assert charts.samples_in_bin(values["digits"], edges, 1).tolist() == [2]


# --- one image on the ID reference ---------------------------------------------------------


def test_percentile_of_counts_id_scores_less_or_equal():
    id_scores = np.array([1.0, 2.0, 3.0, 4.0])
    assert percentile_of(2.0, id_scores) == 50.0
    assert percentile_of(0.5, id_scores) == 0.0
    assert percentile_of(4.0, id_scores) == 100.0
    assert percentile_of(3.5, id_scores) == 75.0


def test_score_position_figure_marks_value_and_threshold_and_states_the_verdict():
    id_scores = np.arange(20, dtype=float)
    fig = charts.score_position_figure(18.5, id_scores, threshold=17.0, method_label="GAIA-A")
    assert len(fig.data) == 1 and fig.data[0].name == "ID reference"
    assert sorted(s.x0 for s in fig.layout.shapes) == [17.0, 18.5]
    assert "95.0%" in fig.layout.title.text and "flagged as OOD" in fig.layout.title.text
    calm = charts.score_position_figure(3.0, id_scores, threshold=17.0, method_label="GAIA-A")
    assert "not flagged" in calm.layout.title.text


@pytest.mark.parametrize("value", [-0.5, 16.9, 17.1, 25.0])
def test_score_position_labels_sit_on_two_rows_each_pointing_into_the_plot(value):
    """ "95% TPR threshthis image": the labels take different rows, so they never overlap, and each
    extends towards the wider side of its line, so neither runs off the plot."""
    fig = charts.score_position_figure(value, np.arange(20, dtype=float), threshold=17.0, method_label="GAIA-A")
    labels = {a.text: a for a in fig.layout.annotations}
    assert set(labels) == {"95% TPR<br>threshold", "this image"}
    image, threshold = labels["this image"], labels["95% TPR<br>threshold"]
    assert image.y == 1 and threshold.y <= 0.8 and image.yanchor == threshold.yanchor == "top"
    low, high = fig.layout.xaxis.range
    for label in (image, threshold):
        assert low <= label.x <= high
        assert label.xanchor == ("left" if label.x < (low + high) / 2 else "right")
        assert label.bgcolor  # readable over the bars


def test_score_position_x_range_for_msp_stays_in_its_natural_range():
    """MSP scores lie in [-1, 0]: the axis must not run to -1.2."""
    rng = np.random.default_rng(0)
    id_scores = -rng.uniform(0.6, 1.0, size=500)
    fig = charts.score_position_figure(-0.9988, id_scores, threshold=-0.87, method_label="MSP")
    low, high = fig.layout.xaxis.range
    assert -1.05 <= low <= id_scores.min() and -0.87 < high <= 0.05


def test_score_position_x_range_hugs_the_data_and_the_threshold():
    fig = charts.score_position_figure(30.0, np.arange(20, dtype=float), threshold=17.0, method_label="GAIA-A")
    low, high = fig.layout.xaxis.range
    assert -3 < low < 0 and 30 < high < 33


# --- ROC and metrics table -----------------------------------------------------------------


def test_roc_points_give_auroc_one_when_perfectly_separated_and_half_for_identical_distributions():
    fpr, tpr = charts.roc_points(np.array([0.1, 0.2, 0.3]), np.array([0.7, 0.8]))
    assert np.trapezoid(tpr, fpr) == pytest.approx(1.0)
    rng = np.random.default_rng(2)
    fpr, tpr = charts.roc_points(rng.normal(size=2000), rng.normal(size=2000))
    assert abs(np.trapezoid(tpr, fpr) - 0.5) < 0.05
    fpr, tpr = charts.roc_points(np.ones(5), np.ones(5))
    assert np.trapezoid(tpr, fpr) == pytest.approx(0.5)


def test_roc_points_treat_id_as_positive_with_higher_scores_more_ood():
    # Reversed scores (OOD lower) must give AUROC 0, not 1.
    fpr, tpr = charts.roc_points(np.array([0.7, 0.8]), np.array([0.1, 0.2]))
    assert np.trapezoid(tpr, fpr) == pytest.approx(0.0)


def test_roc_figure_has_one_curve_per_method_with_auroc_in_the_legend_and_a_diagonal():
    perfect = charts.roc_points(np.array([0.0, 0.1]), np.array([1.0, 2.0]))
    chance = charts.roc_points(np.ones(4), np.ones(4))
    fig = charts.roc_figure({"gaia_a": perfect, "custom": chance})
    assert [t.name for t in fig.data] == ["GAIA-A (AUROC 100.0%)", "custom (AUROC 50.0%)", "chance"]
    assert list(fig.data[-1].x) == [0, 1] and list(fig.data[-1].y) == [0, 1]
    assert fig.data[0].line.color != fig.data[1].line.color


def _highlighted_cells(styler) -> set[str]:
    html = styler.set_uuid("m").to_html()
    cells = set()
    for selectors, body in re.findall(r"([^{}]+)\{([^}]*)\}", html):
        if "font-weight: bold" in body:
            cells.update(re.findall(r"row\d+_col\d+", selectors))
    return cells


def test_style_metrics_table_highlights_lowest_fpr95_and_highest_auroc_and_aupr():
    df = pd.DataFrame(
        {"fpr95": [0.30, 0.10, 0.50], "auroc": [0.95, 0.90, 0.95], "aupr_in": [0.2, 0.8, 0.4]},
        index=["gaia_a", "gaia_z", "msp"],
    )
    original = df.copy()
    styler = charts.style_metrics_table(df)
    assert charts.best_per_column(df) == {"fpr95": ["gaia_z"], "auroc": ["gaia_a", "msp"], "aupr_in": ["gaia_z"]}
    assert _highlighted_cells(styler) == {"row1_col0", "row0_col1", "row2_col1", "row1_col2"}
    html = styler.to_html()
    assert "FPR95 ↓" in html and "AUROC ↑" in html and "GAIA-Z" in html and "10.0%" in html
    pd.testing.assert_frame_equal(df, original)


# --- per-layer views -----------------------------------------------------------------------


def test_layer_profile_figure_draws_band_id_mean_and_sample_in_layer_order():
    profile = {"bn1": 0.2, "layer1.0.bn1": 0.6, "layer4.1.bn2": 0.9}
    id_mean = {"layer4.1.bn2": 0.5, "bn1": 0.1, "layer1.0.bn1": 0.3}
    band = {k: (v - 0.1, v + 0.1) for k, v in id_mean.items()}
    fig = charts.layer_profile_figure(profile, id_mean, band, "Zero ratio per layer", "zero ratio")
    assert [t.name for t in fig.data][1:] == ["ID 5–95th percentile", "ID mean", "this image"]
    assert list(fig.data[2].x) == list(profile) and list(fig.data[2].y) == [0.1, 0.3, 0.5]
    assert list(fig.data[1].y) == [0.2, 0.4, 0.6] and fig.data[1].fill == "tonexty"
    assert len(charts.layer_profile_figure(profile, id_mean, None, "t", "y").data) == 2
    with pytest.raises(ChartError, match="bn1"):
        charts.layer_profile_figure(profile, {"bn1": 0.1}, None, "t", "y")


def test_id_reference_profile_gives_per_layer_mean_and_percentile_band():
    per_sample = charts.layer_means({"a": np.array([[0.0, 1.0], [1.0, 1.0], [2.0, 2.0]])})
    np.testing.assert_allclose(per_sample["a"], [0.5, 1.0, 2.0])
    mean, band = charts.id_reference_profile(per_sample, low=0, high=100)
    assert mean == {"a": pytest.approx(3.5 / 3)} and band == {"a": (0.5, 2.0)}


@pytest.mark.parametrize("kind, trace_type, mode", [("violin", go.Violin, "violinmode"), ("box", go.Box, "boxmode")])
def test_layer_distribution_figure_groups_one_trace_per_set_across_layers(kind, trace_type, mode):
    values = {
        "digits": {"l1": np.array([0.1, 0.2]), "l2": np.array([0.3, 0.4, 0.5])},
        "noise": {"l1": np.array([0.9]), "l2": np.array([0.8, 0.7])},
    }
    fig = charts.layer_distribution_figure(values, kind=kind, y_label="r_c", id_name="digits")
    assert [type(t) for t in fig.data] == [trace_type, trace_type]
    assert [t.name for t in fig.data] == ["digits (ID)", "noise"]
    assert list(fig.data[0].x) == ["l1", "l1", "l2", "l2", "l2"] and list(fig.data[1].y) == [0.9, 0.8, 0.7]
    assert fig.layout[mode] == "group"
    with pytest.raises(ChartError, match="kind"):
        charts.layer_distribution_figure(values, kind="bar")


# --- channels ------------------------------------------------------------------------------


def test_channel_heatmap_pads_ragged_layers_with_nan_and_centres_the_scale_at_zero():
    fig = charts.channel_heatmap({"l1": np.array([0.5, -1.0]), "l2": np.array([0.1, 0.2, 2.0, -0.3])})
    z = np.asarray(fig.data[0].z, dtype=float)
    assert z.shape == (2, 4) and np.isnan(z[0, 2:]).all() and not np.isnan(z[1]).any()
    assert list(fig.data[0].y) == ["l1", "l2"]
    assert fig.data[0].zmid == 0 and fig.data[0].zmin == -2.0 and fig.data[0].zmax == 2.0


def test_channel_difference_is_ood_mean_minus_id_mean(channel_values):
    id_values, ood_values = channel_values
    diff = charts.channel_difference(id_values, ood_values)
    np.testing.assert_allclose(
        diff["layer2.0.bn1"], ood_values["layer2.0.bn1"].mean(0) - id_values["layer2.0.bn1"].mean(0)
    )


def test_rank_channels_ranks_the_planted_separating_channel_first(channel_values):
    ranking = charts.rank_channels(*channel_values)
    assert list(ranking.columns) == [
        "layer",
        "channel",
        "id_mean",
        "ood_mean",
        "difference",
        "auroc",
        "separation",
        "direction",
    ]
    assert len(ranking) == 10
    top = ranking.iloc[0]
    assert (top["layer"], top["channel"], top["auroc"], top["direction"]) == ("layer2.0.bn1", 3, 1.0, "higher in OOD")
    assert ranking["separation"].is_monotonic_decreasing


def test_rank_channels_breaks_separation_ties_by_the_larger_mean_shift():
    id_values = {"l": np.array([[0.0, 0.0], [0.1, 0.1]])}
    ood_values = {"l": np.array([[0.2, 5.0], [0.3, 6.0]])}  # both channels separate perfectly
    assert charts.rank_channels(id_values, ood_values)["channel"].tolist() == [1, 0]


def test_rank_channels_auroc_matches_scikit_learn_with_ties(channel_values):
    id_values, ood_values = channel_values
    id_values = {"l": np.round(id_values["layer1.0.bn1"], 1)}  # rounding creates ties
    ood_values = {"l": np.round(ood_values["layer1.0.bn1"], 1)}
    ranking = charts.rank_channels(id_values, ood_values).sort_values("channel")
    labels = np.r_[np.zeros(30), np.ones(20)]
    expected = [roc_auc_score(labels, np.r_[id_values["l"][:, c], ood_values["l"][:, c]]) for c in range(4)]
    np.testing.assert_allclose(ranking["auroc"], expected)


def test_channel_ranking_figure_shows_top_k_best_first_split_by_direction(channel_values):
    ranking = charts.rank_channels(*channel_values)
    fig = charts.channel_ranking_figure(ranking, top_k=4)
    assert all(isinstance(t, go.Bar) for t in fig.data)
    assert sum(len(t.y) for t in fig.data) == 4
    assert next(iter(fig.layout.yaxis.categoryarray)) == "layer2.0.bn1 · c3"
    assert fig.data[0].name == "higher in OOD" and fig.data[0].x[0] == pytest.approx(0.5)


def test_channel_values_figure_draws_every_image_per_set_with_ids_on_hover():
    fig = charts.channel_values_figure(
        {"digits": np.array([0.1, 0.2]), "noise": np.array([0.9])},
        "l1 · c0",
        sample_ids={"digits": ["d0", "d1"]},
        id_name="digits",
    )
    assert [type(t) for t in fig.data] == [go.Box, go.Box] and fig.data[0].boxpoints == "all"
    assert [list(c) for c in fig.data[0].customdata] == [[0, "d0"], [1, "d1"]]
    assert [list(c) for c in fig.data[1].customdata] == [[0, "row 0"]]


def test_channel_values_figure_opens_in_box_selection_so_a_drag_selects_points_not_zooms():
    fig = charts.channel_values_figure({"digits": np.array([0.1, 0.2]), "noise": np.array([0.9])}, "l1 · c0")
    assert fig.layout.dragmode == "select"
    assert fig.layout.clickmode == "event+select"


# --- gradients and aggregation -------------------------------------------------------------


def test_zero_ratios_count_exact_zeros_per_channel():
    grad = np.zeros((3, 2, 2))
    grad[1, 0, 0] = 1e-12
    grad[2] = -1.0
    np.testing.assert_allclose(charts.zero_ratios(grad), [1.0, 0.75, 0.0])


def test_gradient_grid_figure_greys_exactly_the_zero_entries_and_reports_zero_ratio_on_hover():
    grad = np.arange(1, 5 * 3 * 3 + 1, dtype=float).reshape(5, 3, 3) - 20.0  # one exact zero, at channel 2
    grad[0, 1, :] = 0.0
    fig = charts.gradient_grid_figure(grad, max_channels=4)
    heat, mask = fig.data
    assert mask.name == "exactly zero" and mask.hoverinfo == "skip"
    z, m, info = np.asarray(heat.z, float), np.asarray(mask.z, float), np.asarray(heat.customdata, float)
    assert z.shape == (7, 7)  # 2 x 2 tiles of 3 x 3, one blank cell apart
    np.testing.assert_array_equal(~np.isnan(m), z == 0)
    assert np.count_nonzero(z == 0) == 4  # channel 0's row and channel 2's single zero
    assert info[0, 0, 0] == 0 and info[0, 0, 1] == pytest.approx(100 / 3)
    assert info[4, 4, 0] == 3 and np.isnan(z[3]).all()
    assert "4 of 5 channels" in fig.layout.title.text


def test_gradient_grid_figure_does_not_grey_tiny_non_zero_gradients():
    grad = np.full((1, 2, 2), 1e-60)
    grad[0, 0, 0] = 0.0
    mask = np.asarray(charts.gradient_grid_figure(grad).data[1].z, float)
    assert (~np.isnan(mask)).sum() == 1 and not np.isnan(mask[0, 0])


def test_gradient_grid_figure_draws_the_chosen_channels():
    grad = np.ones((6, 2, 2))
    fig = charts.gradient_grid_figure(grad, channels=[5, 1], ncols=2)
    info = np.asarray(fig.data[0].customdata, float)
    assert info[0, 0, 0] == 5 and info[0, 3, 0] == 1
    with pytest.raises(ChartError):
        charts.gradient_grid_figure(grad, channels=[6])


def test_zero_ratio_and_channel_average_bars_have_one_bar_per_channel_and_a_mean_line():
    fig = charts.zero_ratio_bar(np.array([0.2, 0.4, 0.9]))
    assert len(fig.data) == 1 and len(fig.data[0].y) == 3
    assert fig.layout.shapes[0].y0 == pytest.approx(0.5)
    assert "r_c = 0.100" in fig.data[0].hovertext[2]
    fig = charts.channel_average_bar(np.array([1.0, 3.0]), y_label="u_c / o")
    assert list(fig.data[0].y) == [1.0, 3.0] and fig.layout.shapes[0].y0 == 2.0
    with pytest.raises(ChartError):
        charts.zero_ratio_bar(np.array([1.5]))


def test_aggregation_figure_shows_sorted_squares_and_their_mean_as_the_score():
    fig = charts.aggregation_figure({"ID": np.array([0.5, 1.0, 0.0]), "OOD": np.array([1.0, 1.0])}, id_name="ID")
    assert len(fig.data) == 4
    assert list(fig.data[0].y) == [1.0, 0.25, 0.0]
    assert list(fig.data[1].y) == [pytest.approx(1.25 / 3)] * 2 and "GAIA-Z = mean = 0.4167" in fig.data[1].name
    assert fig.data[3].y[0] == 1.0
    assert fig.data[0].line.color == charts.dataset_colors(["ID"], "ID")["ID"]


# --- look and purity -----------------------------------------------------------------------


def test_id_set_keeps_its_colour_and_each_set_has_its_own():
    colors = charts.dataset_colors(["noise", "digits", "letters"], id_name="digits")
    assert colors["digits"] == charts.dataset_colors(["digits"], "digits")["digits"]
    assert len(set(colors.values())) == 3


def test_app_charts_leave_the_look_to_streamlit_and_standalone_ones_use_the_white_template(scores):
    import plotly.io as pio

    fig = charts.score_histogram(scores, "digits", 0.0, "MSP")
    # Plotly's default template, which Streamlit sets to its theme's: no template is validated per figure.
    assert fig.layout.template.to_plotly_json() == pio.templates[pio.templates.default].to_plotly_json()
    white = charts.style.standalone(fig)
    assert white.layout.template.to_plotly_json() == pio.templates["plotly_white"].to_plotly_json()


def test_builders_do_not_mutate_their_inputs_and_are_deterministic(scores, channel_values):
    id_values, ood_values = channel_values
    grad = np.random.default_rng(3).normal(size=(4, 3, 3))
    grad[grad < 0] = 0
    per_layer = {"digits": {"l": id_values["layer1.0.bn1"][:, 0]}, "noise": {"l": ood_values["layer1.0.bn1"][:, 0]}}
    inputs = (scores, id_values, ood_values, grad, per_layer)
    before = copy.deepcopy(inputs)

    def build_all():
        ranking = charts.rank_channels(id_values, ood_values)
        return [
            charts.score_histogram(scores, "digits", 0.5, "GAIA-A", sample_ids={"noise": [str(i) for i in range(25)]}),
            charts.score_position_figure(0.3, scores["digits"], 0.5, "GAIA-A"),
            charts.readout_distribution_figure(scores, "entropy", "digits"),
            charts.roc_figure({"gaia_a": charts.roc_points(scores["digits"], scores["noise"])}),
            charts.layer_distribution_figure(per_layer, "violin"),
            charts.channel_heatmap(charts.channel_difference(id_values, ood_values)),
            charts.channel_ranking_figure(ranking),
            charts.channel_values_figure(per_layer["digits"], "c"),
            charts.gradient_grid_figure(grad),
            charts.zero_ratio_bar(charts.zero_ratios(grad)),
            charts.aggregation_figure({"ID": grad[0].ravel(), "OOD": grad[1].ravel()}),
        ]

    first, second = build_all(), build_all()
    assert [f.to_json() for f in first] == [f.to_json() for f in second]
    for now, then in zip(
        [*scores.values(), *id_values.values(), *ood_values.values(), grad, per_layer["digits"]["l"]],
        [*before[0].values(), *before[1].values(), *before[2].values(), before[3], before[4]["digits"]["l"]],
    ):
        np.testing.assert_array_equal(now, then)


def test_invalid_scores_raise_a_chart_error_that_names_the_set():
    with pytest.raises(ChartError, match="noise"):
        charts.score_histogram({"digits": np.ones(3), "noise": np.array([np.nan])}, "digits", None, "MSP")


# --- Layout at 1024 px (issue 14) ------------------------------------------------------------


def _legend_under_the_plot(fig) -> bool:
    legend = fig.layout.legend
    return legend.yref == "container" and legend.yanchor == "bottom" and legend.y <= 0


def _synthetic_sweep(flips):
    from gaia_core.teaching.sweep import Sweep, SweepConfig

    config = SweepConfig("noise", strengths=(0.0, 0.25, 0.5, 0.75, 1.0))
    percentiles = {"gaia_a": np.array([50.0, 80, 97, 99, 100]), "msp": np.array([40.0, 60, 96, 98, 99])}
    return Sweep(
        config=config,
        images=np.zeros((5, 1, 2, 2)),
        scores=percentiles,
        percentiles=percentiles,
        thresholds={"gaia_a": 1.0, "msp": 1.0},
        threshold_percentiles={"gaia_a": 95.0, "msp": 95.0},
        flagged={m: v > 95 for m, v in percentiles.items()},
        first_flag={"gaia_a": 0.5, "msp": 0.5},
        predictions=np.array([1, 1, 3, 8, 8]),
        confidences=np.array([0.99, 0.9, 0.5, 0.7, 0.9]),
        flips=flips,
        layer_profiles={"gaia_z": {"l1": np.arange(5.0), "l2": np.arange(5.0)}},
    )


def _curves(sweep, current=None):
    return percentile_curves(
        sweep.strengths, sweep.percentiles, sweep.threshold_percentiles, sweep.first_flag, sweep.flips, current
    )


def test_legends_sit_under_the_plot_not_over_the_title(scores):
    """At 1024 px a legend above the plot wrapped onto the title."""
    per_layer = pd.DataFrame(
        {"layer": ["a", "b"] * 2, "position": [0, 1] * 2, "set": ["noise"] * 2 + ["Average"] * 2}
        | {"auroc": [0.6, 0.7, 0.6, 0.7], "fpr95": [0.5, 0.4, 0.5, 0.4]}
    )
    sweep = _synthetic_sweep([0.5])
    under = [
        charts.layer_distribution_figure({"digits": {"l": np.ones(3)}, "noise": {"l": np.zeros(3)}}, "box"),
        charts.layer_profile_figure({"l": 1.0}, {"l": 0.5}, {"l": (0.2, 0.8)}, "t", "y"),
        per_layer_figure(per_layer),
        _curves(sweep),
        layer_profile_bars(sweep.strengths, sweep.layer_profiles["gaia_z"], 0, "gaia_z", {"l1": 0.5, "l2": 0.5}, "r̄"),
    ]
    for fig in under:
        assert _legend_under_the_plot(fig), fig.layout.title.text
    # The ID vs OOD histograms keep theirs right of the plot, the ROC's stays inside it on a background.
    histogram = charts.score_histogram(scores, "digits", 0.5, "GAIA-A")
    assert histogram.layout.legend.x > 1 and histogram.layout.legend.orientation == "v"
    roc = charts.roc_figure({"gaia_a": charts.roc_points(scores["digits"], scores["noise"])})
    assert roc.layout.legend.yref == "paper" and 0 < roc.layout.legend.y < 1 and roc.layout.legend.bgcolor


def test_mean_labels_of_channel_bars_sit_beside_the_plot_not_under_the_bars():
    for fig in (charts.zero_ratio_bar(np.array([0.2, 0.4, 0.9])), charts.channel_average_bar(np.array([1.0, 3.0]))):
        (label,) = [a for a in fig.layout.annotations if "mean" in a.text]
        assert (label.xref, label.x, label.xanchor) == ("paper", 1, "left")
        assert fig.layout.margin.r >= 60  # room for it


def test_long_titles_of_half_width_charts_are_wrapped():
    title = "GAIA-A: channel-average ratio per layer"
    fig = charts.layer_profile_figure({"l": 1.0}, {"l": 0.5}, None, title, "y")
    assert fig.layout.title.text == "GAIA-A: channel-average ratio<br>per layer"
    assert charts.style.wrap_title("short<br><sup>a note that is long enough to wrap</sup>") == (
        "short<br><sup>a note that is long enough to wrap</sup>"
    )


@pytest.mark.parametrize("flips", [[0.5], [0.25, 0.75]])
def test_what_if_flip_label_appears_once_above_the_plot_and_the_threshold_label_beside_it(flips):
    fig = _curves(_synthetic_sweep(flips), current=0.25)
    flip_labels = [a for a in fig.layout.annotations if "prediction flips" in a.text]
    assert len(flip_labels) == 1
    (flip,) = flip_labels
    assert flip.yref == "paper" and flip.y >= 1 and flip.yanchor == "bottom" and flip.bgcolor
    (threshold,) = [a for a in fig.layout.annotations if "threshold" in a.text]
    assert (threshold.xref, threshold.x, threshold.xanchor) == ("paper", 1, "left")


def test_what_if_prediction_curve_names_each_class_where_it_starts_and_every_class_on_hover():
    sweep = _synthetic_sweep([0.5, 0.75])  # predictions 1, 1, 3, 8, 8
    fig = prediction_curve(sweep.strengths, sweep.predictions, sweep.confidences, sweep.flips)
    assert [(a.x, a.text) for a in fig.layout.annotations] == [(0.0, "<b>1</b>"), (0.5, "<b>3</b>"), (0.75, "<b>8</b>")]
    assert all(a.bgcolor for a in fig.layout.annotations)  # readable over the dotted flip lines
    (curve,) = fig.data
    assert list(curve.customdata) == ["1", "1", "3", "8", "8"] and "%{customdata}" in curve.hovertemplate


# --- issue 22: readable at 1024×768, the TPR in use, AUROC in percent -----------------------


def _axes(fig: go.Figure) -> list:
    layout = fig.to_plotly_json()["layout"]
    return [layout[name] for name in layout if re.fullmatch(r"[xy]axis\d*", name)]


def test_every_chart_of_the_inspection_pages_has_tick_labels_of_at_least_12_px(scores, channel_values):
    id_values, ood_values = channel_values
    ranking = charts.rank_channels(id_values, ood_values)
    per_layer_table = pd.DataFrame(
        {
            "layer": ["a", "b"] * 2,
            "position": [0, 1] * 2,
            "set": ["noise"] * 2 + ["Average"] * 2,
            "auroc": 0.7,
            "fpr95": 0.3,
        }
    )
    profile = pd.DataFrame(
        {"layer": ["a", "b"], "position": [0, 1], "value": [0.1, 0.2], "id_low": 0.0, "id_median": 0.1, "id_high": 0.3}
    ).assign(percentile=[40.0, 99.0], stage="s")
    heatmap = charts.channel_heatmap(charts.channel_difference(id_values, ood_values))
    figures = {
        "histogram": charts.score_histogram(scores, "digits", 0.5, "GAIA-A"),
        "position": charts.score_position_figure(0.3, scores["digits"], 0.5, "GAIA-A"),
        "readout": charts.readout_distribution_figure(scores, "entropy", "digits"),
        "roc": charts.roc_figure({"gaia_a": charts.roc_points(scores["digits"], scores["noise"])}),
        "heatmap": heatmap,
        "ranking": charts.channel_ranking_figure(ranking),
        "values": charts.channel_values_figure({"digits": scores["digits"]}, "c"),
        "lab": per_layer_figure(per_layer_table),
        "percentiles": layer_percentile_figure(profile, "t"),
        "profile": charts.layer_profile_figure({"a": 0.1}, {"a": 0.2}, None, "t", "y"),
        "violins": charts.layer_distribution_figure({"digits": {"a": scores["digits"]}}),
    }
    for name, fig in figures.items():
        axes = _axes(fig)
        assert axes, name
        assert all(axis.get("tickfont", {}).get("size", 0) >= 12 for axis in axes), (name, axes)
    assert heatmap.data[0].colorbar.tickfont.size >= 12


def test_the_score_position_threshold_is_labelled_with_the_tpr_it_keeps(scores):
    fig = charts.score_position_figure(0.3, scores["digits"], 0.5, "GAIA-A", tpr=0.8)
    labels = [a.text for a in fig.layout.annotations]
    assert "80% TPR<br>threshold" in labels and not any("95%" in label for label in labels)


def test_the_channel_ranking_axis_reads_auroc_minus_50_percent_in_percentage_points(channel_values):
    fig = charts.channel_ranking_figure(charts.rank_channels(*channel_values), top_k=4)
    assert fig.layout.xaxis.tickformat == "+.0%"
    assert fig.layout.xaxis.title.text.startswith("channel AUROC − 50%")
    assert "AUROC %{customdata[4]:.1%}" in fig.data[0].hovertemplate
