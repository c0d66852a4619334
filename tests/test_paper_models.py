"""The paper's other models: WRN-40-2 with the authors' key layout and taps."""

import pytest
import torch
from conftest import randomize_norm_stats
from safetensors.torch import save_file
from torch import nn

from gaia_core.models import get_spec, load_model
from gaia_core.models.wrn import WideResNet, wrn40_2
from gaia_core.scores import create, gaia_a, gaia_z
from gaia_core.scores.probe import ProbePlan, run_probe
from gaia_core.scores.taps import default_feature_layer, default_gaia_a_layers, norm_layers


@pytest.fixture(scope="module")
def small_wrn():
    torch.manual_seed(0)
    return randomize_norm_stats(WideResNet(depth=10, num_classes=7, widen_factor=2)).eval()


def test_wrn40_2_has_the_outlier_exposure_key_layout_and_its_size():
    model = wrn40_2(num_classes=100)
    keys = set(model.state_dict())
    for key in (
        "conv1.weight",
        "block1.layer.0.bn1.running_mean",
        "block1.layer.0.conv1.weight",
        "block1.layer.0.convShortcut.weight",
        "block2.layer.0.convShortcut.weight",
        "block3.layer.5.bn2.weight",
        "block3.layer.5.conv2.weight",
        "bn1.weight",
        "fc.weight",
        "fc.bias",
    ):
        assert key in keys
    assert "block1.layer.1.convShortcut.weight" not in keys
    assert sum(p.numel() for p in wrn40_2(num_classes=10).parameters()) == 2_243_546  # WRN-40-2 on CIFAR-10
    assert len(norm_layers(model)) == 3 * 6 * 2 + 1
    assert model.eval()(torch.randn(2, 3, 32, 32)).shape == (2, 100)


def test_wrn_gaia_taps_are_every_batch_norm_and_the_final_bn_relu_map(small_wrn):
    assert default_gaia_a_layers(small_wrn) == norm_layers(small_wrn)
    assert default_feature_layer(small_wrn) == "relu"
    x = torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    probe = run_probe(small_wrn, x, ProbePlan(pooled="relu", head="fc"))
    assert probe.pooled.shape == (3, 64 * 2)
    torch.testing.assert_close(probe.head_input, probe.pooled)  # f = the pooled output F feeds the head
    explicit = create("gaia_a", inner_layers=tuple(norm_layers(small_wrn)), feature_layer="relu")(small_wrn, x)
    torch.testing.assert_close(gaia_a(small_wrn, x).score, explicit.score)
    assert torch.isfinite(gaia_z(small_wrn, x).score).all()


def test_wrn_checkpoint_in_the_authors_layout_loads_as_it_is(tmp_path):
    source = randomize_norm_stats(wrn40_2(num_classes=10)).eval()
    save_file({k: v.contiguous() for k, v in source.state_dict().items()}, tmp_path / "wrn.safetensors")
    loaded = load_model("wrn40_2", tmp_path / "wrn.safetensors", device="cpu")
    x = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(loaded(x), source(x))
    assert get_spec("wrn40_2").family == "cifar" and isinstance(loaded.relu, nn.ReLU)
