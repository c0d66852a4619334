"""A small gallery of images as one figure, for selections drawn next to other charts."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from gaia_core.charts.style import ChartError, base_layout


def _as_rgb(image, k: int) -> np.ndarray:
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise ChartError(f"image {k} has dtype {array.dtype}; convert it to uint8 (0-255) first")
    if array.ndim == 2:
        return np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim == 3 and array.shape[2] == 3:
        return array
    raise ChartError(f"image {k} has shape {array.shape}; expected (H, W) or (H, W, 3)")


def image_grid_figure(
    images: Sequence[np.ndarray],
    captions: Sequence[str],
    ncols: int = 6,
    title: str = "",
    tile_px: int = 110,
) -> go.Figure:
    """Images in a grid with one caption each.

    Args:
        images: uint8 (H, W) grey or (H, W, 3) RGB arrays; sizes may differ.
        captions: one caption per image (shown above it).
        ncols: images per row.
        title: figure title.
        tile_px: approximate height of one row in pixels.

    Traces: one ``go.Image`` per image, in order.
    """
    if not images:
        raise ChartError("no images to show")
    if len(captions) != len(images):
        raise ChartError(f"{len(captions)} captions for {len(images)} images; pass one per image")
    cols = max(1, min(int(ncols), len(images)))
    rows = math.ceil(len(images) / cols)
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[str(c) for c in captions],
        horizontal_spacing=0.02,
        vertical_spacing=min(0.3 / rows, 0.08),
    )
    for k, image in enumerate(images):
        fig.add_trace(go.Image(z=_as_rgb(image, k), name=str(captions[k])), row=k // cols + 1, col=k % cols + 1)
    fig = base_layout(fig, title, 60 + rows * (tile_px + 30), showlegend=False)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_annotations(font={"size": 11})
    return fig
