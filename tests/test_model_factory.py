"""One's own architecture through a factory ``package.module:function``."""

import sys
import textwrap

import pytest
import torch

from gaia_core.cli import main
from gaia_core.models import get_spec, load_model
from gaia_core.models.factory import FactoryError, operator_factories
from gaia_core.scores import create
from gaia_core.scores.taps import LayerError, default_feature_layer, default_gaia_a_layers

FACTORIES = """
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.body = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, num_classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.avgpool(self.body(self.stem(x))), 1))


def build(num_classes=10):
    return Net(num_classes)


def no_norms():
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))


def flat():
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 2))


def not_a_model():
    return 42
"""


@pytest.fixture
def factories(tmp_path, monkeypatch):
    package = tmp_path / "my_models"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "nets.py").write_text(textwrap.dedent(FACTORIES))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "my_models.nets"
    for name in [n for n in sys.modules if n.startswith("my_models")]:
        del sys.modules[name]


def test_factory_model_loads_and_gets_structural_default_layers(factories):
    model = load_model(f"{factories}:build", num_classes=3, random_init=True, device="cpu")
    assert model.fc.out_features == 3
    assert default_feature_layer(model) == "body"
    assert default_gaia_a_layers(model) == ["body.1"]
    scores = create("gaia_z")(model, torch.randn(2, 3, 8, 8)).score
    assert scores.shape == (2,)


def test_factory_spec_states_its_preprocessing(factories):
    spec = get_spec(f"{factories}:build")
    assert spec.num_classes == 10 and "ImageNet preprocessing" in spec.description


def test_factory_model_without_norm_layers_is_a_clear_error(factories):
    model = load_model(f"{factories}:no_norms", random_init=True, device="cpu")
    with pytest.raises(LayerError, match="no normalization layer"):
        create("gaia_z")(model, torch.randn(1, 3, 8, 8))


def test_factory_model_without_feature_map_is_a_clear_error(factories):
    model = load_model(f"{factories}:flat", random_init=True, device="cpu")
    with pytest.raises(LayerError, match="last feature map"):
        default_feature_layer(model)


@pytest.mark.parametrize(
    ("target", "message"),
    [(":not_a_model", "returned int"), (":missing", "has no function missing"), ("x:build", "cannot import")],
)
def test_bad_factories_are_clear_errors(factories, target, message):
    name = f"{factories}{target}" if target.startswith(":") else f"{factories}.{target}"
    with pytest.raises(FactoryError, match=message):
        load_model(name, random_init=True, device="cpu")


def test_cli_reports_a_factory_without_weights_in_one_line(factories, capsys):
    assert main(["evaluate", "--model", f"{factories}:build", "--id", "digits", "--ood", "noise"]) != 0
    err = capsys.readouterr().err
    assert "needs weights" in err and "Traceback" not in err


def test_operator_factories_come_from_the_environment_only():
    assert operator_factories({"GAIA_MODEL_FACTORIES": "mine=pkg.mod:build, other=a.b:c"}) == {
        "mine": "pkg.mod:build",
        "other": "a.b:c",
    }
    assert operator_factories({}) == {}
    with pytest.raises(FactoryError, match="label=package.module:function"):
        operator_factories({"GAIA_MODEL_FACTORIES": "mine=os.system"})


def test_cli_reports_a_broken_factory_in_one_line(factories, capsys):
    assert main(["evaluate", "--model", f"{factories}:missing", "--id", "digits", "--ood", "noise"]) != 0
    err = capsys.readouterr().err
    assert "has no function missing" in err and "Traceback" not in err
