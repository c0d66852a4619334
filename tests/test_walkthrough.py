import numpy as np
import pytest
import torch

from gaia_core.demo.data import load_demo_set, normalize
from gaia_core.models import load_model
from gaia_core.scores import gaia_a, gaia_z
from gaia_core.scores.walkthrough import walkthrough


@pytest.fixture(scope="module")
def demo():
    return load_model("demo", device="cpu")


def test_walkthrough_scores_equal_the_engine_scores(demo):
    x = normalize(load_demo_set("letters")[0][:1])
    steps = walkthrough(demo, x, "layer3.0.bn1")
    assert steps.gaia_z == gaia_z(demo, x).score.item()  # the same steps, so exactly the same numbers
    assert steps.gaia_a == gaia_a(demo, x).score.item()
    assert steps.in_gaia_a and steps.in_gaia_z


def test_walkthrough_ratios_follow_from_its_gradients(demo):
    x = normalize(load_demo_set("digits")[0][:1])
    steps = walkthrough(demo, x, "layer4.0.bn2")
    channels = steps.z_gradient.shape[0]
    assert steps.nonzero_fraction.shape == steps.channel_ratio.shape == (channels,)
    np.testing.assert_allclose(steps.nonzero_fraction, (steps.z_gradient != 0).mean(axis=(1, 2)), rtol=1e-6)
    np.testing.assert_allclose(
        steps.channel_ratio, np.abs(steps.a_gradient.mean(axis=(1, 2))) / steps.output_component, rtol=1e-4, atol=1e-9
    )
    expected = gaia_z(demo, x, layers=["layer4.0.bn2"]).channels["layer4.0.bn2"][0].numpy()
    np.testing.assert_allclose(steps.nonzero_fraction, expected)


def test_walkthrough_on_a_layer_outside_gaia_a(demo):
    steps = walkthrough(demo, normalize(load_demo_set("digits")[0][:1]), "layer1.0.bn1")
    assert steps.in_gaia_z and not steps.in_gaia_a
    assert steps.a_gradient.shape == steps.z_gradient.shape


def test_walkthrough_takes_one_image(demo):
    with pytest.raises(ValueError, match="one image"):
        walkthrough(demo, torch.zeros(2, 1, 32, 32), "layer1.0.bn1")
