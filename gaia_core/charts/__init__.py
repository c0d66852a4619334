"""Every chart of GAIA Explorer: pure functions from arrays / dicts / DataFrames to plotly figures.

No I/O, no streamlit, inputs never modified. Scores are abnormalities: higher = more likely
OOD. One colour per set (ID always blue): build the mapping once with `dataset_colors` and
pass it as ``colors`` to keep it across pages.

- `distributions`: score / readout histograms (selectable bars), one image on the ID reference.
- `roc`: ROC curves and the styled metrics table.
- `profiles`: per-layer profile of one image, per-layer distributions per set.
- `channels`: ID-vs-OOD difference heat map, channel ranking, one channel per image.
- `gradients`: gradient maps with their zeros, per-channel bars, score aggregation.
- `layer_lab`: the layer lab's per-layer view, each layer alone, per OOD set.
- `layer_percentiles`: one image's percentile among the ID images, layer by layer.
- `what_if`: the What if? page's curves over perturbation strengths (plain arrays in).
- `style`: the shared colours, layouts, lines and labels, and `ChartError`.

`layer_lab`, `layer_percentiles` and `what_if` are imported from their modules; the others'
builders are re-exported here.
"""

from gaia_core.charts.channels import (
    channel_difference,
    channel_heatmap,
    channel_ranking_figure,
    channel_values_figure,
    pad_layers,
    rank_channels,
)
from gaia_core.charts.distributions import (
    bin_indices,
    histogram_edges,
    readout_distribution_figure,
    rows_in_selection,
    samples_in_bin,
    score_histogram,
    score_position_figure,
)
from gaia_core.charts.gradients import (
    aggregation_figure,
    channel_average_bar,
    gradient_grid_figure,
    nonzero_ratio_bar,
    zero_ratio_bar,
    zero_ratios,
)
from gaia_core.charts.profiles import (
    id_reference_profile,
    layer_distribution_figure,
    layer_means,
    layer_profile_figure,
)
from gaia_core.charts.roc import best_per_column, roc_figure, roc_points, style_metrics_table
from gaia_core.charts.style import ChartError, dataset_colors, method_colors
from gaia_core.scores import method_label

__all__ = [
    "ChartError",
    "aggregation_figure",
    "best_per_column",
    "bin_indices",
    "channel_average_bar",
    "channel_difference",
    "channel_heatmap",
    "channel_ranking_figure",
    "channel_values_figure",
    "dataset_colors",
    "gradient_grid_figure",
    "histogram_edges",
    "id_reference_profile",
    "layer_distribution_figure",
    "layer_means",
    "layer_profile_figure",
    "method_colors",
    "method_label",
    "nonzero_ratio_bar",
    "pad_layers",
    "rank_channels",
    "readout_distribution_figure",
    "roc_figure",
    "roc_points",
    "rows_in_selection",
    "samples_in_bin",
    "score_histogram",
    "score_position_figure",
    "style_metrics_table",
    "zero_ratio_bar",
    "zero_ratios",
]
