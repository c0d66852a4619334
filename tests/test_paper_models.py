"""The paper's other models: WRN-40-2 with the authors' key layout and taps."""

from copy import deepcopy

import pytest
import torch
from conftest import randomize_norm_stats
from safetensors.torch import save_file
from torch import nn

from gaia_core.models import get_spec, load_model
from gaia_core.models.wrn import WideResNet, wrn40_2
from gaia_core.scores import create, gaia_a, gaia_z
from gaia_core.scores.probe import ProbePlan, run_probe
from gaia_core.scores.taps import (
    default_feature_layer,
    default_gaia_a_feature_layer,
    default_gaia_a_layers,
    default_gaia_z_layers,
    norm_layers,
)


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
    explicit = create("gaia_a", inner_layers=tuple(norm_layers(small_wrn)), feature_layer="pool")(small_wrn, x)
    torch.testing.assert_close(gaia_a(small_wrn, x).score, explicit.score)
    # F read before the pool (8x8) makes o 1/8 of the authors' and the score 64 times theirs.
    unpooled = create("gaia_a", feature_layer="relu")(small_wrn, x).score
    torch.testing.assert_close(unpooled, 64 * explicit.score)
    assert torch.isfinite(gaia_z(small_wrn, x).score).all()


def test_wrn_checkpoint_in_the_authors_layout_loads_as_it_is(tmp_path):
    source = randomize_norm_stats(wrn40_2(num_classes=10)).eval()
    save_file({k: v.contiguous() for k, v in source.state_dict().items()}, tmp_path / "wrn.safetensors")
    loaded = load_model("wrn40_2", tmp_path / "wrn.safetensors", device="cpu")
    x = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(loaded(x), source(x))
    assert get_spec("wrn40_2").family == "cifar" and isinstance(loaded.relu, nn.ReLU)


def _small_bit():
    from gaia_core.models.bit import ResNetV2

    torch.manual_seed(2)
    model = ResNetV2(block_units=(1, 1, 2, 1), width_factor=1, num_classes=6).eval()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.GroupNorm):  # non-trivial affine so the mapping of gamma/beta is checked
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
    return model


def test_bit_npz_with_googles_key_names_loads_back_to_the_same_scores(tmp_path):
    import numpy as np

    from gaia_core.models.bit import ResNetV2, load_bit_npz, save_bit_npz

    source = _small_bit()
    save_bit_npz(source, tmp_path / "bit.npz")
    keys = set(np.load(tmp_path / "bit.npz", allow_pickle=False).files)
    for key in (
        "resnet/root_block/standardized_conv2d/kernel",
        "resnet/block1/unit01/a/group_norm/gamma",
        "resnet/block1/unit01/a/proj/standardized_conv2d/kernel",
        "resnet/block3/unit02/c/standardized_conv2d/kernel",
        "resnet/group_norm/beta",
        "resnet/head/conv2d/kernel",
    ):
        assert key in keys
    assert np.load(tmp_path / "bit.npz")["resnet/root_block/standardized_conv2d/kernel"].shape == (7, 7, 3, 64)
    loaded = load_bit_npz(ResNetV2(block_units=(1, 1, 2, 1), num_classes=6).eval(), tmp_path / "bit.npz")
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(loaded(x), source(x))
    for method in (gaia_z, gaia_a):
        torch.testing.assert_close(method(loaded, x).score, method(source, x).score)


def test_bit_taps_are_the_group_norms_of_the_last_block_before_their_relu():
    model = _small_bit()
    assert default_gaia_a_layers(model) == [f"body.block4.unit01.gn{i}" for i in (1, 2, 3)]
    assert default_feature_layer(model) == "head.relu"
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(4))
    probe = run_probe(model, x, ProbePlan(pooled="head.relu", head="fc"))
    torch.testing.assert_close(model.fc(probe.pooled), model(x))


def test_bit_npz_that_is_not_bit_is_refused_by_name(tmp_path):
    import numpy as np

    from gaia_core.models import CheckpointError
    from gaia_core.models.bit import load_bit_npz

    np.savez(tmp_path / "other.npz", weights=np.zeros(3))
    with pytest.raises(CheckpointError, match="lacks .* BiT weights"):
        load_bit_npz(_small_bit(), tmp_path / "other.npz")
    np.savez(tmp_path / "pickled.npz", **{"resnet/group_norm/gamma": np.array([{"a": 1}], dtype=object)})
    with pytest.raises(CheckpointError, match="not a readable"):  # object arrays need pickle: refused
        load_bit_npz(_small_bit(), tmp_path / "pickled.npz")


def test_bit_s_r101x1_spec_is_the_authors_480_pixel_half_normalized_input(tmp_path):
    from gaia_core.models import class_label
    from gaia_core.models.bit import bit_s_r101x1

    spec = get_spec("bit_s_r101x1")
    assert (spec.input_size, spec.mean, spec.std, spec.num_classes) == (480, (0.5,) * 3, (0.5,) * 3, 1000)
    assert class_label(spec, 1000, 207).endswith("golden retriever")
    assert sum(p.numel() for p in bit_s_r101x1().parameters()) == 44_541_480


class _GradHook:
    """The authors' ``Grad_all_hook``: keeps the gradient of a module's output from each backward."""

    def __init__(self, module: nn.Module):
        self.data = None
        self.output = None
        self.handle = module.register_forward_hook(self._hook)

    def _hook(self, module, args, output):
        self.output = output
        output.register_hook(self._store)

    def _store(self, grad):
        self.data = grad.detach()


def _authors_gaia_a(model: nn.Module, x: torch.Tensor, inner: list[str], pooled: str) -> torch.Tensor:
    """The authors' ``cal_grad_value`` with their hooks: the inner norms and, last, the pooled output."""
    copy = deepcopy(model)
    hooks = [_GradHook(copy.get_submodule(name)) for name in [*inner, pooled]]
    try:
        y = copy(x.clone().requires_grad_())
        torch.log_softmax(y, dim=-1).sum().backward(retain_graph=True)
        output_component = hooks[-1].data.mean(dim=(-1, -2)).abs().mean(dim=1).sqrt()[:, None]
        hooks[-1].output.flatten(1).sum().backward()  # their before_head_data / features[-1]
        inner_component = torch.cat([h.data.mean(dim=(-1, -2)) for h in hooks[:-1]], dim=1).abs()
        return (inner_component / output_component).pow(2).mean(dim=1).detach()
    finally:
        for h in hooks:
            h.handle.remove()


def _authors_gaia_z(model: nn.Module, x: torch.Tensor, layers: list[str]) -> torch.Tensor:
    """The authors' ``cal_zero`` with their hooks: non-zero ratios of d(sum max logit)/dA, mean of squares."""
    copy = deepcopy(model)
    hooks = [_GradHook(copy.get_submodule(name)) for name in layers]
    try:
        copy(x.clone().requires_grad_()).max(dim=1).values.sum().backward()
        ratios = [(h.data != 0).float().mean(dim=(-1, -2)) for h in hooks]
        return torch.cat(ratios, dim=1).pow(2).mean(dim=1)
    finally:
        for h in hooks:
            h.handle.remove()


def test_wrn_gaia_a_is_the_authors_recipe_on_their_pooled_output(small_wrn):
    x = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(5))
    assert default_gaia_a_feature_layer(small_wrn) == "pool"
    theirs = _authors_gaia_a(small_wrn, x, norm_layers(small_wrn), "pool")
    torch.testing.assert_close(gaia_a(small_wrn, x).score, theirs, rtol=1e-6, atol=0)
    channels = gaia_a(small_wrn, x).channels
    assert list(channels) == norm_layers(small_wrn)


def test_bit_gaia_a_is_the_authors_recipe_on_their_pooled_before_head():
    model = _small_bit()
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(6))
    assert default_gaia_a_feature_layer(model) == "head" and isinstance(model.head.avg, nn.AdaptiveAvgPool2d)
    theirs = _authors_gaia_a(model, x, model.gaia_inner_layers, "head")
    torch.testing.assert_close(gaia_a(model, x).score, theirs, rtol=1e-6, atol=0)
    # Read before the pool (2x2 at 64 px; 15x15 at 480 px) the score is H*W times theirs.
    unpooled = create("gaia_a", feature_layer="head.relu")(model, x).score
    torch.testing.assert_close(unpooled, 4 * theirs, rtol=1e-5, atol=0)


def test_bit_gaia_z_default_is_the_group_norms_of_the_last_block_as_the_authors():
    model = _small_bit()
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(7))
    block4 = [f"body.block4.unit01.gn{i}" for i in (1, 2, 3)]
    assert default_gaia_z_layers(model) == block4 == model.gaia_inner_layers
    assert len(norm_layers(model)) > len(block4)
    torch.testing.assert_close(gaia_z(model, x).score, _authors_gaia_z(model, x, block4), rtol=0, atol=0)
    assert list(gaia_z(model, x).channels) == block4


def test_bit_textures_switch_is_the_authors_gaia_z_with_the_heads_group_norm():
    model = _small_bit()
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(8))
    switched = [*model.gaia_inner_layers, "head.gn"]  # their before_head.gn, read before its ReLU
    ours = create("gaia_z", layers=tuple(switched))(model, x)
    torch.testing.assert_close(ours.score, _authors_gaia_z(model, x, switched), rtol=0, atol=0)
    assert not torch.equal(ours.score, gaia_z(model, x).score)
