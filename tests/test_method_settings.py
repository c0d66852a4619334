"""Method settings: they build the configured methods, enter the cache key, and read back."""

import json

import numpy as np
import pytest
from conftest import randomize_norm_stats
from torch import nn
from torchvision import transforms as T

from gaia_core.data import ArrayDataset
from gaia_core.errors import ConfigError
from gaia_core.evaluation.cache import ScoreCache
from gaia_core.evaluation.scoring import evaluate_dataset, method_config
from gaia_core.scores import ODIN, Energy, GaiaA, GaiaZ, ReAct
from gaia_core.scores.settings import MethodSettings, default_layers


def _model() -> nn.Module:
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Conv2d(4, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 3),
    )
    return randomize_norm_stats(model).eval()


def _dataset() -> ArrayDataset:
    images = np.random.default_rng(0).random((12, 1, 8, 8)).astype(np.float32)
    return ArrayDataset(images, np.arange(12) % 3, "tiny", T.Normalize((0.5,), (0.25,)))


def test_the_defaults_are_the_methods_own():
    built = MethodSettings().build(["odin", "energy", "react", "gaia_z", "gaia_a", "msp"])
    assert built[:5] == [ODIN(), Energy(), ReAct(), GaiaZ(), GaiaA()]


def test_each_setting_reaches_its_methods_field():
    settings = MethodSettings(
        odin_temperature=10,
        odin_epsilon=0.002,
        energy_temperature=2.5,
        react_percentile=95,
        gaia_z_layers=("1",),
        gaia_a_layers=["4"],
    )
    odin, energy, react, gaia_z, gaia_a = settings.build(["odin", "energy", "react", "gaia_z", "gaia_a"], (0.25,))
    assert (odin.temperature, odin.epsilon, odin.input_std) == (10, 0.002, (0.25,))
    assert energy.temperature == 2.5 and react.percentile == 95
    assert gaia_z.layers == ("1",) and gaia_a.inner_layers == ("4",)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"odin_temperature": 0}, "odin_temperature must be a number above 0"),
        ({"energy_temperature": -1.0}, "energy_temperature"),
        ({"odin_epsilon": -0.1}, "odin_epsilon must be 0 or more"),
        ({"react_percentile": 0}, r"react_percentile must be in \(0, 100\]"),
        ({"react_percentile": 101}, "react_percentile"),
        ({"gaia_z_layers": ()}, "non-empty list of layer names"),
        ({"gaia_a_layers": "layer4"}, "non-empty list of layer names"),
    ],
)
def test_nonsense_settings_are_refused(changes, message):
    with pytest.raises(ConfigError, match=message):
        MethodSettings(**changes)


def test_describe_is_one_line_of_every_or_the_named_methods_settings():
    assert MethodSettings().describe() == (
        "ODIN T=1000 ε=0.0014 · Energy T=1 · ReAct p90 · GAIA-Z layers: paper's default · GAIA-A layers: paper's default"
    )
    settings = MethodSettings(odin_temperature=10, gaia_z_layers=("layer1.0.bn1", "layer2.0.bn1"))
    assert settings.describe(["gaia_z", "odin", "msp"]) == (
        "GAIA-Z layers: layer1.0.bn1, layer2.0.bn1 · ODIN T=10 ε=0.0014"
    )
    assert settings.describe(["msp"]) == "default settings"


def test_settings_read_back_from_methods_and_from_a_manifests_method_configs():
    settings = MethodSettings(odin_temperature=10, react_percentile=80, gaia_a_layers=("4",))
    methods = settings.build(["gaia_a", "odin", "react", "msp"])
    assert MethodSettings.from_methods(methods) == settings
    stored = json.loads(json.dumps([method_config(m) for m in methods]))
    assert MethodSettings.from_methods(stored) == settings


def test_two_odin_temperatures_give_two_cache_entries_and_different_scores(tmp_path):
    cache, model, dataset = ScoreCache(tmp_path), _model(), _dataset()
    hot, cold = (MethodSettings(odin_temperature=t).build(["odin"], (0.25,)) for t in (1000.0, 1.0))
    first = evaluate_dataset(model, dataset, hot, cache=cache, batch_size=4)
    second = evaluate_dataset(model, dataset, cold, cache=cache, batch_size=4)
    assert second.from_cache == 0 and not np.allclose(first.scores("odin"), second.scores("odin"))
    assert len(list((tmp_path / "scores").glob("*/*/key.json"))) == 2
    again = evaluate_dataset(model, dataset, MethodSettings().build(["odin"], (0.25,)), cache=cache, batch_size=4)
    assert again.from_cache == len(dataset) and np.array_equal(again.scores("odin"), first.scores("odin"))


def test_the_layer_picker_starts_from_the_papers_layers():
    model = _model()
    assert default_layers(model, "gaia_z") == ["1", "4"]
    assert default_layers(model, "gaia_a") == ["4"]  # the second half of the norm layers
    with pytest.raises(ConfigError, match="no layers to pick"):
        default_layers(model, "msp")
