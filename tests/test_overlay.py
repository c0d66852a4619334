"""Overlays on known inputs: colour scales, signs, clipping, de-normalization, PNG export."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from gaia_core.attribution import AttributionError
from gaia_core.attribution.overlay import (
    BLUE_WHITE_RED,
    INFERNO,
    blend,
    common_vmax,
    grid_image,
    grid_png,
    render_heatmap,
    scaled,
    to_png_bytes,
)
from gaia_core.data import DataError
from gaia_core.data.transforms import denormalize

MIN_COLOUR, MAX_COLOUR = INFERNO[0], INFERNO[255]


def one_hot_map(value: float = 1.0) -> np.ndarray:
    values = np.zeros((6, 5), dtype=np.float32)
    values[2, 3] = value
    return values


def test_one_hot_map_has_the_max_colour_there_and_the_min_colour_elsewhere() -> None:
    heat = render_heatmap(one_hot_map(0.3), sign="absolute", clip_percentile=99.0)
    assert heat.shape == (6, 5, 3) and heat.dtype == np.uint8
    np.testing.assert_array_equal(heat[2, 3], MAX_COLOUR)
    others = np.ones((6, 5), dtype=bool)
    others[2, 3] = False
    assert (heat[others] == MIN_COLOUR).all()


def test_colour_tables_run_from_dark_to_light_and_blue_through_white_to_red() -> None:
    assert INFERNO.shape == BLUE_WHITE_RED.shape == (256, 3)
    brightness = INFERNO.astype(int).sum(axis=1)
    assert brightness[0] < 20 and brightness[-1] > 600
    assert (np.diff(brightness) >= -3).all()  # perceptually ordered: no dark band on the way up
    assert BLUE_WHITE_RED[0, 2] > BLUE_WHITE_RED[0, 0]  # blue end
    assert BLUE_WHITE_RED[255, 0] > BLUE_WHITE_RED[255, 2]  # red end
    assert (BLUE_WHITE_RED[127:129] > 240).all()  # white middle


def test_denormalize_inverts_normalize_up_to_uint8_rounding() -> None:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(2, 3, 8, 9), dtype=np.uint8)
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    as_column = lambda values: torch.tensor(values).view(1, 3, 1, 1)  # noqa: E731
    normalized = (torch.from_numpy(pixels).float() / 255 - as_column(mean)) / as_column(std)
    restored = denormalize(normalized, mean, std)
    assert restored.shape == (2, 8, 9, 3) and restored.dtype == np.uint8
    np.testing.assert_array_equal(restored, pixels.transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(denormalize(normalized[0].numpy(), mean, std), pixels[0].transpose(1, 2, 0))


def test_denormalize_replicates_a_grey_channel_and_clips_instead_of_wrapping() -> None:
    image = torch.tensor([[[0.0, 1.0], [-10.0, 10.0]]])  # (1, 2, 2); mean 0.5, std 0.25
    rgb = denormalize(image, (0.5,), (0.25,))
    assert rgb.shape == (2, 2, 3)
    np.testing.assert_array_equal(rgb[..., 0], [[128, 191], [0, 255]])
    assert (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()


def test_denormalize_rejects_a_mean_of_the_wrong_length() -> None:
    with pytest.raises(DataError, match="one per input channel"):
        denormalize(torch.zeros(3, 4, 4), (0.5,), (0.25,))


def test_clipping_saturates_values_above_the_percentile() -> None:
    ramp = np.arange(1, 101, dtype=np.float64).reshape(10, 10)
    vmax = np.percentile(ramp, 90)  # 90.1
    heat = render_heatmap(ramp, clip_percentile=90)
    np.testing.assert_array_equal(heat, render_heatmap(ramp, vmax=vmax))
    assert (heat[ramp > vmax] == MAX_COLOUR).all()
    np.testing.assert_allclose(scaled(ramp, clip_percentile=90)[ramp <= 80], ramp[ramp <= 80] / vmax)
    unclipped = render_heatmap(ramp, clip_percentile=100)
    assert (unclipped == MAX_COLOUR).all(axis=-1).sum() == 1  # only the maximum


def test_zeros_do_not_count_towards_the_percentile() -> None:
    sparse = np.zeros((10, 10))
    sparse[0, :4] = [1.0, 2.0, 3.0, 4.0]
    assert common_vmax(sparse, clip_percentile=50) == pytest.approx(2.5)


def test_positive_sign_zeroes_negatives_and_negative_sign_shows_them() -> None:
    values = np.array([[-2.0, 0.0, 2.0]])
    positive = render_heatmap(values, sign="positive", clip_percentile=100)
    np.testing.assert_array_equal(positive[0], [MIN_COLOUR, MIN_COLOUR, MAX_COLOUR])
    negative = render_heatmap(values, sign="negative", clip_percentile=100)
    np.testing.assert_array_equal(negative[0], [MAX_COLOUR, MIN_COLOUR, MIN_COLOUR])
    absolute = render_heatmap(values, sign="absolute", clip_percentile=100)
    np.testing.assert_array_equal(absolute[0], [MAX_COLOUR, MIN_COLOUR, MAX_COLOUR])


def test_all_signs_use_the_diverging_scale_centred_on_white() -> None:
    values = np.array([[-4.0, 0.0, 4.0, 1.0]])
    heat = render_heatmap(values, sign="all", vmax=4.0)
    np.testing.assert_array_equal(heat[0, 0], BLUE_WHITE_RED[0])
    np.testing.assert_array_equal(heat[0, 1], BLUE_WHITE_RED[128])
    np.testing.assert_array_equal(heat[0, 2], BLUE_WHITE_RED[255])
    np.testing.assert_array_equal(heat[0, 3], BLUE_WHITE_RED[159])  # (1/4 + 1) * 127.5 = 159.4


def test_an_all_zero_map_renders_in_the_min_colour() -> None:
    heat = render_heatmap(np.zeros((3, 3)))
    assert (heat == MIN_COLOUR).all()


def test_common_vmax_puts_several_maps_on_one_scale() -> None:
    weak, strong = one_hot_map(1.0), one_hot_map(2.0)
    vmax = common_vmax([weak, strong], clip_percentile=100)
    assert vmax == 2.0
    np.testing.assert_array_equal(render_heatmap(strong, vmax=vmax)[2, 3], MAX_COLOUR)
    np.testing.assert_array_equal(render_heatmap(weak, vmax=vmax)[2, 3], INFERNO[128])  # 0.5 * 255 = 127.5
    np.testing.assert_array_equal(render_heatmap(weak)[2, 3], MAX_COLOUR)  # on its own scale it saturates
    assert common_vmax(np.stack([weak, strong]), clip_percentile=100) == vmax


def test_blend_mixes_image_and_heat_map_linearly() -> None:
    image = np.full((2, 2, 3), 100, dtype=np.uint8)
    heat = np.full((2, 2, 3), 200, dtype=np.uint8)
    np.testing.assert_array_equal(blend(image, heat, 0.0), image)
    np.testing.assert_array_equal(blend(image, heat, 1.0), heat)
    assert (blend(image, heat, 0.25) == 125).all()
    with pytest.raises(AttributionError, match="alpha"):
        blend(image, heat, 1.5)


def test_png_export_round_trips_exactly() -> None:
    rgb = render_heatmap(np.arange(12.0).reshape(3, 4))
    decoded = np.asarray(Image.open(io.BytesIO(to_png_bytes(rgb))))
    np.testing.assert_array_equal(decoded, rgb)


def test_grid_places_tiles_in_rows_and_adds_room_for_labels() -> None:
    tiles = [np.full((4, 6, 3), value, dtype=np.uint8) for value in (10, 20, 30)]
    grid = grid_image(tiles, ncols=2, pad=1)
    assert grid.shape == (2 * 6, 2 * 8, 3)
    np.testing.assert_array_equal(grid[1:5, 1:7], tiles[0])
    np.testing.assert_array_equal(grid[1:5, 9:15], tiles[1])
    np.testing.assert_array_equal(grid[7:11, 1:7], tiles[2])
    assert (grid[7:11, 9:15] == 255).all()  # empty cell stays white
    labelled = grid_image(tiles, ncols=2, labels=["ID", "OOD", "x"], pad=1)
    assert labelled.shape[0] > grid.shape[0] and labelled.shape[1] == grid.shape[1]
    decoded = np.asarray(Image.open(io.BytesIO(grid_png(tiles, ncols=3))))
    assert decoded.shape == (4 + 8, 3 * (6 + 8), 3)


def test_grid_rejects_a_label_count_that_does_not_match() -> None:
    with pytest.raises(AttributionError, match="one label per image"):
        grid_image([np.zeros((2, 2, 3), dtype=np.uint8)], ncols=1, labels=["a", "b"])


def test_non_uint8_images_and_non_finite_maps_are_refused() -> None:
    with pytest.raises(AttributionError, match="uint8"):
        to_png_bytes(np.zeros((2, 2, 3)))
    with pytest.raises(AttributionError, match="NaN"):
        render_heatmap(np.array([[np.inf, 0.0]]))
    with pytest.raises(AttributionError, match="unknown sign"):
        render_heatmap(np.zeros((2, 2)), sign="both")
