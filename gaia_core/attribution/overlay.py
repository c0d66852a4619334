"""Attribution maps as images, with numpy and Pillow only (no matplotlib).

Maps are scaled by a `vmax`: the `clip_percentile`-th percentile of the map's non-zero
magnitudes, so a few extreme pixels do not wash out the rest (zeros, such as the regions a
ReLU'd Grad-CAM leaves empty, do not count). Values at or above vmax take the extreme colour.
For an ID-vs-OOD grid, compute one `common_vmax` over all maps and pass it to every call.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from gaia_core.attribution.errors import AttributionError

SIGNS = ("absolute", "positive", "negative", "all")
# Captum's `visualize_image_attr` spells "absolute" "absolute_value"; both are accepted.
SIGN_ALIASES = {"absolute_value": "absolute"}

# matplotlib's "inferno" at every 16th of its 256 entries; linear interpolation between these
# stops differs from the full table by at most 6/255 per channel.
_INFERNO_STOPS = (
    (0, 0, 4),
    (11, 7, 36),
    (33, 12, 74),
    (61, 9, 101),
    (87, 16, 110),
    (113, 25, 110),
    (138, 34, 106),
    (163, 44, 97),
    (188, 55, 84),
    (208, 69, 69),
    (227, 89, 51),
    (241, 113, 31),
    (249, 140, 10),
    (252, 170, 15),
    (249, 201, 50),
    (242, 232, 101),
    (252, 255, 164),
)
# ColorBrewer's 11-class RdBu, reversed: negative = blue, zero = near-white, positive = red.
_BLUE_WHITE_RED_STOPS = (
    (5, 48, 97),
    (33, 102, 172),
    (67, 147, 195),
    (146, 197, 222),
    (209, 229, 240),
    (247, 247, 247),
    (253, 219, 199),
    (244, 165, 130),
    (214, 96, 77),
    (178, 24, 43),
    (103, 0, 31),
)


def _table(stops: Sequence[tuple[int, int, int]]) -> np.ndarray:
    stops_array = np.asarray(stops, dtype=np.float64)
    positions = np.linspace(0, 255, len(stops_array))
    columns = [np.interp(np.arange(256), positions, stops_array[:, c]) for c in range(3)]
    return np.rint(np.stack(columns, axis=1)).astype(np.uint8)


INFERNO = _table(_INFERNO_STOPS)  # (256, 3) uint8, for one-signed maps
BLUE_WHITE_RED = _table(_BLUE_WHITE_RED_STOPS)  # (256, 3) uint8, for signed maps ("all")


def signed_part(attribution_map: np.ndarray, sign: str) -> np.ndarray:
    """The part of a map that is shown: |map|, max(map, 0), max(-map, 0), or the map itself ("all")."""
    values = _as_map_array(attribution_map)
    sign = SIGN_ALIASES.get(sign, sign)
    if sign == "absolute":
        return np.abs(values)
    if sign == "positive":
        return np.maximum(values, 0.0)
    if sign == "negative":
        return np.maximum(-values, 0.0)
    if sign == "all":
        return values
    raise AttributionError(f"unknown sign '{sign}'; use one of {', '.join(SIGNS)}")


def common_vmax(
    maps: np.ndarray | Sequence[np.ndarray], sign: str = "absolute", clip_percentile: float = 99.0
) -> float:
    """One colour scale for several maps: the clip_percentile-th percentile of their pooled
    non-zero magnitudes (0.0 when every map is zero).

    Args:
        maps: (H, W) maps, or an array (B, H, W).
        sign: which part of the maps is shown, see `SIGNS`.
        clip_percentile: in (0, 100]; 100 = the largest magnitude.
    """
    if not 0.0 < clip_percentile <= 100.0:
        raise AttributionError(f"clip_percentile must be in (0, 100], got {clip_percentile}")
    arrays = [maps] if isinstance(maps, np.ndarray) else list(maps)
    if not arrays:
        raise AttributionError("common_vmax needs at least one map")
    magnitudes = np.concatenate([np.abs(signed_part(m, sign)).ravel() for m in arrays])
    nonzero = magnitudes[magnitudes > 0]
    return float(np.percentile(nonzero, clip_percentile)) if nonzero.size else 0.0


def scaled(
    attribution_map: np.ndarray, sign: str = "absolute", clip_percentile: float = 99.0, vmax: float | None = None
) -> np.ndarray:
    """The map scaled by vmax and clipped: float64 (H, W) in [0, 1], or [-1, 1] for sign "all"."""
    values = signed_part(attribution_map, sign)
    scale = common_vmax(attribution_map, sign, clip_percentile) if vmax is None else float(vmax)
    if not scale >= 0.0:
        raise AttributionError(f"vmax must be >= 0, got {vmax}")
    if scale == 0.0:
        return np.zeros(values.shape)
    low = -1.0 if SIGN_ALIASES.get(sign, sign) == "all" else 0.0
    return np.clip(values.astype(np.float64) / scale, low, 1.0)


def render_heatmap(
    attribution_map: np.ndarray, sign: str = "absolute", clip_percentile: float = 99.0, vmax: float | None = None
) -> np.ndarray:
    """A map coloured with inferno (one sign) or blue-white-red (sign "all", 0 = white).

    Args:
        attribution_map: (H, W) attribution values.
        sign: "absolute", "positive", "negative" (shown as magnitudes) or "all" (diverging).
        clip_percentile: percentile of the non-zero magnitudes that takes the extreme colour.
        vmax: explicit scale (e.g. from `common_vmax`); overrides clip_percentile.

    Returns:
        uint8 (H, W, 3).
    """
    values = scaled(attribution_map, sign, clip_percentile, vmax)
    if SIGN_ALIASES.get(sign, sign) == "all":
        return BLUE_WHITE_RED[np.rint((values + 1.0) * 127.5).astype(np.intp)]
    return INFERNO[np.rint(values * 255.0).astype(np.intp)]


def colorbar(height: int, vmax: float, sign: str = "absolute", bar_width: int | None = None) -> np.ndarray:
    """The colour scale of `render_heatmap` as a vertical bar with its values, to stand beside a map.

    The top is vmax; the bottom is 0 (one sign) or -vmax (sign "all", with 0 in the middle). Signs
    "positive" and "negative" show magnitudes, so their labels read "+vmax" and "−vmax" at the top.

    Args:
        height: pixels, that of the map it stands beside.
        vmax: the scale the map was rendered with (`common_vmax`).
        sign: as in `render_heatmap`.
        bar_width: pixels of the coloured strip; None = an eighth of the height (at least 8).

    Returns:
        uint8 (height, width, 3) on white: the strip, then its labels to the right.
    """
    sign = SIGN_ALIASES.get(sign, sign)
    if sign not in SIGNS:
        raise AttributionError(f"unknown sign '{sign}'; use one of {', '.join(SIGNS)}")
    if not vmax >= 0.0:
        raise AttributionError(f"vmax must be >= 0, got {vmax}")
    if height < 16:
        raise AttributionError(f"a colour bar needs at least 16 pixels of height, got {height}")
    strip = bar_width or max(8, height // 8)
    fraction = np.linspace(1.0, 0.0, height)  # top row = the largest value
    if sign == "all":
        colours = BLUE_WHITE_RED[np.rint(fraction * 255.0).astype(np.intp)]
        ticks = {0: _tick(vmax), height // 2: "0", height - 1: _tick(-vmax)}
    else:
        colours = INFERNO[np.rint(fraction * 255.0).astype(np.intp)]
        top = {"absolute": "", "positive": "+", "negative": "−"}[sign]
        ticks = {0: top + _tick(vmax), height - 1: "0"}
    font = ImageFont.load_default(size=max(10, height // 12))
    label_width = max(int(font.getlength(text)) for text in ticks.values()) + 6
    canvas = Image.new("RGB", (strip + label_width, height), "white")
    canvas.paste(Image.fromarray(np.repeat(colours[:, None, :], strip, axis=1)), (0, 0))
    draw = ImageDraw.Draw(canvas)
    for row, text in ticks.items():
        anchor = "lt" if row == 0 else ("lb" if row == height - 1 else "lm")
        draw.text((strip + 4, row), text, fill="black", font=font, anchor=anchor)
    return np.asarray(canvas)


def with_colorbar(tile: np.ndarray, vmax: float, sign: str = "absolute", gap: int = 6) -> np.ndarray:
    """``tile`` (H, W, 3) with its `colorbar` to the right, ``gap`` white pixels between: uint8."""
    image = _as_rgb(tile)
    bar = colorbar(image.shape[0], vmax, sign)
    space = np.full((image.shape[0], gap, 3), 255, dtype=np.uint8)
    return np.concatenate([image, space, bar], axis=1)


def _tick(value: float) -> str:
    return f"{value:.2g}".replace("-", "−")


def blend(image_rgb: np.ndarray, heat_rgb: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """(1 - alpha) * image + alpha * heat map, both uint8 (H, W, 3); returns uint8 (H, W, 3)."""
    if not 0.0 <= alpha <= 1.0:
        raise AttributionError(f"alpha must be in [0, 1], got {alpha}")
    image, heat = _as_rgb(image_rgb), _as_rgb(heat_rgb)
    if image.shape != heat.shape:
        raise AttributionError(f"image {image.shape} and heat map {heat.shape} must have the same shape")
    mixed = (1.0 - alpha) * image.astype(np.float64) + alpha * heat.astype(np.float64)
    return np.rint(mixed).astype(np.uint8)


def to_png_bytes(rgb: np.ndarray) -> bytes:
    """PNG encoding of a uint8 (H, W, 3) or (H, W) image."""
    buffer = io.BytesIO()
    Image.fromarray(_as_uint8(rgb)).save(buffer, format="PNG")
    return buffer.getvalue()


def grid_image(
    images: Sequence[np.ndarray], ncols: int, labels: Sequence[str] | None = None, pad: int = 4
) -> np.ndarray:
    """Tiles in rows of ncols on white, each optionally captioned below.

    Args:
        images: uint8 (H, W, 3) or (H, W) tiles; smaller tiles are centred in the largest size.
        ncols: tiles per row.
        labels: one caption per tile, or None.
        pad: white pixels around every tile.

    Returns:
        uint8 (rows * cell_height, ncols * cell_width, 3).
    """
    if not images:
        raise AttributionError("grid_image needs at least one image")
    if ncols < 1:
        raise AttributionError(f"ncols must be >= 1, got {ncols}")
    if labels is not None and len(labels) != len(images):
        raise AttributionError(f"got {len(labels)} labels for {len(images)} images; pass one label per image")
    tiles = [_as_rgb(image) for image in images]
    tile_h = max(t.shape[0] for t in tiles)
    tile_w = max(t.shape[1] for t in tiles)
    font = ImageFont.load_default()
    label_h = 0
    if labels is not None:
        label_h = max(font.getbbox(str(label) or " ")[3] for label in labels) + pad
    cell_h, cell_w = tile_h + label_h + 2 * pad, tile_w + 2 * pad
    rows = -(-len(tiles) // ncols)
    canvas = Image.new("RGB", (min(ncols, len(tiles)) * cell_w, rows * cell_h), "white")
    draw = ImageDraw.Draw(canvas)
    for index, tile in enumerate(tiles):
        row, col = divmod(index, ncols)
        left = col * cell_w + pad + (tile_w - tile.shape[1]) // 2
        top = row * cell_h + pad + (tile_h - tile.shape[0]) // 2
        canvas.paste(Image.fromarray(tile), (left, top))
        if labels is not None:
            caption_at = (col * cell_w + pad, row * cell_h + pad + tile_h + pad // 2)
            draw.text(caption_at, str(labels[index]), fill="black", font=font)
    return np.asarray(canvas)


def grid_png(images: Sequence[np.ndarray], ncols: int, labels: Sequence[str] | None = None, pad: int = 4) -> bytes:
    """PNG bytes of `grid_image(images, ncols, labels, pad)`."""
    return to_png_bytes(grid_image(images, ncols, labels, pad))


def _as_map_array(attribution_map: np.ndarray) -> np.ndarray:
    if isinstance(attribution_map, torch.Tensor):
        attribution_map = attribution_map.detach().cpu().numpy()
    values = np.asarray(attribution_map)
    if not np.issubdtype(values.dtype, np.number):
        raise AttributionError(f"an attribution map must be numeric, got dtype {values.dtype}")
    if not np.isfinite(values).all():
        raise AttributionError("the attribution map contains NaN or infinite values; it cannot be drawn")
    return values


def _as_uint8(image: np.ndarray) -> np.ndarray:
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise AttributionError(
            f"images must be uint8 (0..255), got {array.dtype}; use denormalize() or render_heatmap() first"
        )
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] != 3):
        raise AttributionError(f"images must be (H, W) or (H, W, 3), got shape {array.shape}")
    return array


def _as_rgb(image: np.ndarray) -> np.ndarray:
    array = _as_uint8(image)
    return np.repeat(array[..., None], 3, axis=2) if array.ndim == 2 else array
