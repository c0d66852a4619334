import numpy as np
import pytest
import torch

from gaia_core.errors import ConfigError, UnknownNameError
from gaia_core.teaching.perturbations import apply, perturbation_names

NAMES = perturbation_names()


def _image():
    g = torch.Generator().manual_seed(3)
    image = torch.zeros(1, 32, 32)
    image[:, 6:26, 12:20] = 1.0
    return (image + 0.1 * torch.rand(1, 32, 32, generator=g)).clamp(0, 1)


def _other():
    return torch.rand(1, 32, 32, generator=torch.Generator().manual_seed(9))


@pytest.mark.parametrize("name", NAMES)
def test_strength_zero_returns_the_image_unchanged(name):
    image = _image()
    assert torch.equal(apply(name, image, 0.0, seed=1, other=_other()), image)


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_result_and_pixels_stay_in_unit_range(name):
    image = _image()
    a = apply(name, image, 0.6, seed=5, other=_other())
    b = apply(name, image, 0.6, seed=5, other=_other())
    assert torch.equal(a, b)
    assert a.shape == image.shape and float(a.min()) >= 0.0 and float(a.max()) <= 1.0


# A rotation's distance to the original is not monotone in the angle (a symmetric image comes back).
@pytest.mark.parametrize("name", [n for n in NAMES if n != "rotation"])
def test_a_stronger_perturbation_moves_the_image_further(name):
    image = _image()
    distances = [float((apply(name, image, s, seed=2, other=_other()) - image).abs().mean()) for s in (0.25, 0.5, 1.0)]
    assert distances[0] > 0
    assert distances[0] <= distances[1] + 1e-6 <= distances[2] + 2e-6


@pytest.mark.parametrize("name", ["noise", "occlusion", "shuffle"])
def test_random_perturbations_change_with_the_seed(name):
    image = _image()
    assert not torch.equal(apply(name, image, 0.5, seed=0), apply(name, image, 0.5, seed=1))


def test_blend_at_full_strength_is_the_second_image_and_needs_one():
    other = _other()
    assert torch.allclose(apply("blend", _image(), 1.0, other=other), other)
    with pytest.raises(ConfigError):
        apply("blend", _image(), 0.5)


def test_contrast_at_full_strength_is_flat_at_the_mean():
    image = _image()
    flat = apply("contrast", image, 1.0)
    assert np.allclose(flat.numpy(), float(image.mean()), atol=1e-6)


def test_rotation_by_half_turn_flips_the_image_and_a_quarter_turn_moves_it():
    image = _image()
    turned = apply("rotation", image, 1.0)
    assert torch.allclose(turned, image.flip(-1).flip(-2), atol=1e-5)
    assert float((apply("rotation", image, 0.5) - image).abs().mean()) > 0.1


def test_bad_names_and_strengths_are_refused_with_a_message():
    with pytest.raises(UnknownNameError, match="unknown perturbation"):
        apply("melt", _image(), 0.5)
    with pytest.raises(ConfigError, match="strength"):
        apply("noise", _image(), 1.5)


def test_a_drawing_is_framed_downsampled_and_quantized_like_the_digits():
    from gaia_core.teaching.drawing import EmptyDrawingError, drawing_to_demo_pixels

    canvas = np.zeros((200, 200, 4), dtype=np.uint8)
    canvas[40:160, 90:110] = 255  # a vertical bar: a "1"
    pixels = drawing_to_demo_pixels(canvas)
    assert pixels.shape == (1, 32, 32) and pixels.dtype == np.float32
    # The bar fills the frame's height and sits in its middle columns.
    assert pixels[0, 8:24, 14:18].mean() > 0.4 and pixels[0, :, :6].max() < 0.05
    with pytest.raises(EmptyDrawingError):
        drawing_to_demo_pixels(np.zeros((50, 50, 4), dtype=np.uint8))
