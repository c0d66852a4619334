"""How GAIA works tells the truth: its sentences follow the chosen images' numbers."""

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from gaia_core.data import demo_dataset
from gaia_core.models import load_model
from gaia_core.scores.walkthrough import gaia_z_gradients, walkthrough
from gaia_core.teaching.story import same_gradient_layers


@pytest.fixture(scope="module")
def demo():
    return load_model("demo", device="cpu")


def _means(demo, ood_set, layer="layer3.0.bn1"):
    id_x, ood_x = demo_dataset("digits")[0].image[None], demo_dataset(ood_set)[0].image[None]
    return (
        float(walkthrough(demo, id_x, layer).nonzero_fraction.mean()),
        float(walkthrough(demo, ood_x, layer).nonzero_fraction.mean()),
    )


def test_a_blocks_last_norm_and_its_shortcut_norm_get_the_same_gradient(demo):
    grads = gaia_z_gradients(demo, demo_dataset("digits")[0].image[None])
    pairs = same_gradient_layers(grads)
    assert ("layer2.0.bn2", "layer2.0.downsample.1") in pairs
    assert all(np.array_equal(grads[a], grads[b]) for a, b in pairs)
    assert not any("bn1" in a or "bn1" in b for a, b in pairs)  # a block's first norm feeds no sum


def test_the_story_follows_the_chosen_example(demo):
    at = AppTest.from_file("../app.py", default_timeout=300)
    at.run()
    at.switch_page("app_pages/how_it_works.py")
    at.run()
    assert not at.exception
    holds = next(i.value for i in at.info if "mean r_c" in i.value)
    id_mean, ood_mean = _means(demo, "natural")
    assert ood_mean > id_mean  # the example where the paper's intuition holds
    assert f"the ID image has more zeros in its gradient (mean r_c {id_mean:.2f} vs {ood_mean:.2f})" in holds
    at.radio(key="how_example").set_value(at.radio(key="how_example").options[1]).run()
    fails = next(i.value for i in at.info if "mean r_c" in i.value)
    id_mean, ood_mean = _means(demo, "textures")
    assert ood_mean < id_mean
    assert f"the OOD image has more zeros in its gradient (mean r_c {ood_mean:.2f} vs {id_mean:.2f})" in fails
    id_steps = walkthrough(demo, demo_dataset("digits")[0].image[None], "layer3.0.bn1")
    ood_steps = walkthrough(demo, demo_dataset("textures")[0].image[None], "layer3.0.bn1")
    higher = "OOD" if (ood_steps.nonzero_fraction**2).mean() > (id_steps.nonzero_fraction**2).mean() else "ID"
    assert f"mean r_c² is higher for the {higher} image" in fails  # more zeros, yet (by its spread) ...
    assert f"final GAIA-Z (higher for the {'OOD' if ood_steps.gaia_z > id_steps.gaia_z else 'ID'} image)" in fails
    assert fails != holds
