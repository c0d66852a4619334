"""GAIA-A and GAIA-Z: the fast path against hand-worked values and a per-sample reference."""

import copy
import math

import pytest
import torch
import torchvision
from conftest import randomize_norm_stats
from torch import nn
from torchvision.models.resnet import Bottleneck, ResNet

from gaia_core.models.cifar_resnet import cifar_resnet18
from gaia_core.scores import gaia_a, gaia_z
from gaia_core.scores.reference import straightforward_gaia_a, straightforward_gaia_z
from gaia_core.scores.taps import LayerError, default_gaia_a_layers, default_gaia_z_layers


def _per_sample(reference, model, x, *layers):
    """The straightforward reference one sample at a time on a private copy (batch independence)."""
    model = copy.deepcopy(model)
    results = [reference(model, sample, *layers) for sample in x.split(1)]
    ratios = {name: torch.cat([r[1][name] for r in results]) for name in results[0][1]}
    return torch.cat([r[0] for r in results]), ratios


def reference_gaia_z(model, x, layers):
    return _per_sample(straightforward_gaia_z, model, x, layers)


def reference_gaia_a(model, x, inner_layers, feature_layer):
    """In float64: the channel averages cancel, so float32 would blur the comparison."""
    return _per_sample(straightforward_gaia_a, copy.deepcopy(model).double(), x.double(), inner_layers, feature_layer)


class TinyNet(nn.Module):
    """bn (identity) -> act (ReLU) -> global average pool -> fc with weights [2, -1]."""

    def __init__(self):
        super().__init__()
        self.bn = nn.BatchNorm2d(1, eps=0.0)
        self.act = nn.ReLU()
        self.fc = nn.Linear(1, 2, bias=False)
        with torch.no_grad():
            self.fc.weight.copy_(torch.tensor([[2.0], [-1.0]]))

    def forward(self, x):
        return self.fc(self.act(self.bn(x)).mean(dim=(2, 3)))


TINY_INPUT = torch.tensor([[[[1.0, -1.0], [2.0, -3.0]]]])


def test_gaia_z_matches_hand_computation_on_tiny_net():
    # relu keeps 2 of 4 entries, so d(max logit)/d(bn) is non-zero at 2 of 4: r = 1/2, score = 1/4.
    res = gaia_z(TinyNet().eval(), TINY_INPUT)
    assert res.channels["bn"].tolist() == [[0.5]]
    assert res.score.item() == pytest.approx(0.25)
    assert res.logits.tolist() == [[1.5, -0.75]]


def test_gaia_a_matches_hand_computation_on_tiny_net():
    # f = 0.75, y = [1.5, -0.75]; d sum(log_softmax)/dy = 1 - 2p, so dL1/df = 3 - 6 p0 and
    # mean_hw dL1/dF = (3 - 6 p0) / 4; u = mean_hw d f/d bn = (1/4)(2/4) = 1/8.
    p0 = 1 / (1 + math.exp(-2.25))
    o = math.sqrt(abs(3 - 6 * p0) / 4)
    res = gaia_a(TinyNet().eval(), TINY_INPUT, inner_layers=["bn"], feature_layer="act")
    assert res.channels["bn"].item() == pytest.approx((1 / 8) / o, rel=1e-6)
    assert res.score.item() == pytest.approx(((1 / 8) / o) ** 2, rel=1e-6)


class GroupNormNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1),
            nn.GroupNorm(2, 8),
            nn.ReLU(inplace=True),
            nn.Conv2d(8, 16, 3, stride=2, padding=1),
            nn.GroupNorm(4, 16),
            nn.ReLU(inplace=True),
            nn.Conv2d(16, 16, 3, padding=1),
            nn.GroupNorm(4, 16),
            nn.ReLU(inplace=True),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(16, 5)

    def forward(self, x):
        return self.classifier(self.pool(self.features(x)).flatten(1))


def _small_bottleneck_resnet():
    return ResNet(Bottleneck, [1, 1, 1, 1], num_classes=7, width_per_group=16)


ARCHITECTURES = {
    "torchvision_resnet18_inplace_relu": (lambda: torchvision.models.resnet18(num_classes=10), 32),
    "torchvision_bottleneck": (_small_bottleneck_resnet, 32),
    "cifar_resnet18_functional_relu": (lambda: cifar_resnet18(10), 32),
    "groupnorm_net": (GroupNormNet, 16),
}


@pytest.fixture(params=sorted(ARCHITECTURES), scope="module")
def architecture(request):
    build, size = ARCHITECTURES[request.param]
    torch.manual_seed(1)
    model = randomize_norm_stats(build()).eval()
    return model, torch.randn(3, 3, size, size)


@pytest.mark.parametrize("batch", [1, 3])
def test_gaia_z_equals_per_sample_reference(architecture, batch):
    model, x = architecture
    layers = default_gaia_z_layers(model)
    res = gaia_z(model, x[:batch])
    ref_score, ref_ratios = reference_gaia_z(model, x[:batch], layers)
    torch.testing.assert_close(res.score.double(), ref_score, rtol=1e-5, atol=1e-7)
    assert list(res.channels) == layers
    for name in layers:
        torch.testing.assert_close(res.channels[name].double(), ref_ratios[name], rtol=0, atol=1e-7)


@pytest.mark.parametrize("batch", [1, 3])
def test_gaia_a_equals_per_sample_reference(architecture, batch):
    model, x = architecture
    feature = "features" if isinstance(model, GroupNormNet) else "layer4"
    inner = default_gaia_a_layers(model)
    res = gaia_a(model, x[:batch], feature_layer=feature)
    ref_score, ref_ratios = reference_gaia_a(model, x[:batch], inner, feature)
    torch.testing.assert_close(res.score.double(), ref_score, rtol=1e-4, atol=0)
    for name in inner:
        scale = ref_ratios[name].abs().max().item()
        torch.testing.assert_close(res.channels[name].double(), ref_ratios[name], rtol=1e-4, atol=1e-5 * scale)


def test_gradient_is_taken_before_inplace_relu_overwrites_the_norm_output():
    # torchvision's BasicBlock runs relu(inplace=True) on bn1's output and `out += identity`
    # on bn2's. Differentiating w.r.t. the captured tensor object after those in-place ops gives
    # the gradient w.r.t. the post-ReLU value: no zeros from the ReLU mask, other numbers.
    model = randomize_norm_stats(torchvision.models.resnet18(num_classes=10)).eval()
    x = torch.randn(2, 3, 32, 32)
    captured = {}
    handle = model.layer1[0].bn1.register_forward_hook(lambda m, a, out: captured.setdefault("t", out))
    try:
        logits = model(x.requires_grad_())
    finally:
        handle.remove()
    (naive,) = torch.autograd.grad(logits.max(dim=1).values.sum(), captured["t"])
    naive_ratio = (naive != 0).double().mean(dim=(2, 3))
    fast_ratio = gaia_z(model, x.detach(), layers=["layer1.0.bn1"]).channels["layer1.0.bn1"].double()
    ref_ratio = reference_gaia_z(model, x.detach(), ["layer1.0.bn1"])[1]["layer1.0.bn1"]
    torch.testing.assert_close(fast_ratio, ref_ratio)
    assert (fast_ratio < naive_ratio - 0.05).any()


def test_gaia_scores_work_with_frozen_parameters():
    model = randomize_norm_stats(torchvision.models.resnet18(num_classes=10)).eval()
    x = torch.randn(2, 3, 32, 32)
    expected_z, expected_a = gaia_z(model, x).score, gaia_a(model, x).score
    for p in model.parameters():
        p.requires_grad_(False)
    torch.testing.assert_close(gaia_z(model, x).score, expected_z)
    torch.testing.assert_close(gaia_a(model, x).score, expected_a)


def test_model_without_norm_layers_gets_a_clear_error():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2)).eval()
    with pytest.raises(LayerError, match="no normalization layer"):
        gaia_z(model, torch.randn(1, 3, 8, 8))


def test_unknown_layer_name_gets_a_clear_error():
    model = torchvision.models.resnet18(num_classes=10).eval()
    with pytest.raises(LayerError, match="no layer named 'layer9.bn'"):
        gaia_z(model, torch.randn(1, 3, 32, 32), layers=["layer9.bn"])


def test_layer_without_4d_output_gets_a_clear_error():
    model = torchvision.models.resnet18(num_classes=10).eval()
    with pytest.raises(LayerError, match="needs a \\(B, C, H, W\\) output"):
        gaia_z(model, torch.randn(1, 3, 32, 32), layers=["fc"])
