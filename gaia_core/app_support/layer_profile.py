"""One image's GAIA profile layer by layer, as percentiles of the ID reference images.

GAIA-Z and GAIA-A average the squared per-channel values of every tapped layer. Restricted to one
layer, that mean of squares is the layer's own score (`gaia_core.evaluation.layer_lab.recompute`
with that single layer, the engine's own float32 arithmetic). Placing an image's per-layer score
among the ID images' scores of the same layer shows *which* layers make it abnormal: a layer at
the 99th percentile is more abnormal there than 99% of ID images. Higher = more abnormal, as
every score in gaia_core. Nothing here runs the model: the per-channel values are the ones kept
when the sets were scored.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from gaia_core.errors import AppSupportError
from gaia_core.evaluation.layer_lab import LayerRecipe, recompute, stage_of
from gaia_core.evaluation.metrics import percentile_of

# Columns of `layer_percentiles`, one row per layer in network order.
PROFILE_COLUMNS = ["layer", "stage", "position", "value", "id_low", "id_median", "id_high", "percentile"]


def layer_scores(channels: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Layer -> (N,) each image's mean of squares over that layer's channels (the layer's own score).

    Args:
        channels: layer -> (N, C_layer) per-channel values (GAIA-Z's r_c or GAIA-A's u_c / o).
    """
    return {layer: recompute(channels, LayerRecipe((layer,))) for layer in channels}


def layer_percentiles(
    image_channels: Mapping[str, np.ndarray],
    id_channels: Mapping[str, np.ndarray],
    low: float = 5.0,
    high: float = 95.0,
) -> pd.DataFrame:
    """One image's per-layer score and its percentile among the ID images, in network order.

    Args:
        image_channels: layer -> (C_layer,) the image's per-channel values (or (1, C_layer)).
        id_channels: layer -> (N_id, C_layer) the ID reference images' values, same layers.
        low, high: percentiles of the ID band reported beside the median.

    Returns:
        `PROFILE_COLUMNS`: the layer, its stage, its position (network order, from 0), the image's
        value, the ID band (``low``-th percentile, median, ``high``-th percentile) and the
        percentile (% of ID images whose value is <= the image's, in [0, 100]). Layers follow
        ``image_channels``' order.
    """
    missing = [layer for layer in image_channels if layer not in id_channels]
    if missing:
        raise AppSupportError(f"the ID reference has no values for layer(s) {', '.join(missing)}")
    if not image_channels:
        raise AppSupportError("the image has no per-layer values")
    mine = layer_scores({layer: np.atleast_2d(np.asarray(v)) for layer, v in image_channels.items()})
    reference = layer_scores({layer: id_channels[layer] for layer in image_channels})
    rows = []
    for position, layer in enumerate(image_channels):
        value, ids = float(mine[layer][0]), np.asarray(reference[layer], dtype=np.float64)
        rows.append(
            {
                "layer": layer,
                "stage": stage_of(layer),
                "position": position,
                "value": value,
                "id_low": float(np.percentile(ids, low)),
                "id_median": float(np.median(ids)),
                "id_high": float(np.percentile(ids, high)),
                "percentile": percentile_of(value, ids),
            }
        )
    return pd.DataFrame(rows, columns=PROFILE_COLUMNS)


def most_abnormal_layers(profile: pd.DataFrame, count: int = 3) -> pd.DataFrame:
    """The ``count`` rows of a `layer_percentiles` table with the highest percentile (ties: network order)."""
    return profile.sort_values(["percentile", "position"], ascending=[False, True], kind="stable").head(count)
