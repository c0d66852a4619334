"""Attribution maps: every Captum method on small models, the caller's model left untouched,
concurrent calls, clear errors, and the concentration readouts; the options a Captum user expects
beside a map (issue 22 item 12): the baseline of Integrated Gradients and DeepLift (zeros, the input
blurred, uniform noise), the sign shown (Captum's `visualize_image_attr` signs), Grad-CAM's layer
chosen by dotted name, and a colour bar."""

from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest
import torch
import torchvision
from torch import nn

from gaia_core.attribution import (
    NOISE_TUNNEL_TYPES,
    AttributionConfig,
    AttributionError,
    attribute,
    available_methods,
    cam_layers,
    default_cam_layer,
    method_spec,
)
from gaia_core.attribution.baselines import baseline_images, blurred, uniform_noise
from gaia_core.attribution.overlay import BLUE_WHITE_RED, INFERNO, colorbar, with_colorbar
from gaia_core.attribution.readout import READOUTS, entropy, sparsity, top_mass

# Captum announces the hooks it sets; here they go on attribute()'s private model copy.
pytestmark = pytest.mark.filterwarnings(
    "ignore:\\s*Setting (forward, backward hooks|backward hooks on ReLU):UserWarning"
)

ALL_METHODS = (
    "saliency",
    "integrated_gradients",
    "input_x_gradient",
    "guided_backprop",
    "deconvolution",
    "deeplift",
    "gradient_shap",
    "occlusion",
    "grad_cam",
    "guided_grad_cam",
)
# Few steps and samples keep every test file fast.
FAST = dict(n_steps=4, n_samples=4, nt_samples=3, occlusion_window=8, occlusion_stride=8)


class TinyNet(nn.Module):
    """Two conv blocks with BatchNorm and one in-place ReLU module used twice, as in
    torchvision's BasicBlock; no layer4/features, so Grad-CAM falls back to the last conv."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(4)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(4, 8, 3, stride=2, padding=1)
        self.bn2 = nn.BatchNorm2d(8)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.conv2(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


def tiny_net(in_channels: int = 1) -> TinyNet:
    torch.manual_seed(0)
    model = TinyNet(in_channels)
    with torch.no_grad():  # non-trivial running statistics, so the net is not homogeneous
        for bn in (model.bn1, model.bn2):
            bn.running_mean.uniform_(-0.3, 0.3)
            bn.running_var.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.3, 0.3)
    return model.eval()


def tiny_input(batch: int = 3, channels: int = 1, size: int = 32) -> torch.Tensor:
    generator = torch.Generator().manual_seed(1)
    return torch.randn(batch, channels, size, size, generator=generator)


@pytest.fixture(scope="module")
def resnet18() -> nn.Module:
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None, num_classes=10)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.bias.uniform_(-0.2, 0.2)
    return model.eval()


def snapshot(model: nn.Module) -> dict:
    return {
        "state": {k: v.detach().clone() for k, v in model.state_dict().items()},
        "requires_grad": {k: p.requires_grad for k, p in model.named_parameters()},
        "training": {k: m.training for k, m in model.named_modules()},
        "modules": {k: (type(m), getattr(m, "inplace", None)) for k, m in model.named_modules()},
        "hooks": {
            k: {a: list(v) for a, v in vars(m).items() if "hooks" in a and isinstance(v, dict)}
            for k, m in model.named_modules()
        },
    }


def assert_unchanged(model: nn.Module, before: dict) -> None:
    after = snapshot(model)
    assert after["state"].keys() == before["state"].keys()
    for key, value in before["state"].items():
        assert torch.equal(after["state"][key], value), key
    assert after["requires_grad"] == before["requires_grad"]
    assert after["training"] == before["training"]
    assert after["modules"] == before["modules"]
    assert after["hooks"] == before["hooks"]
    assert all(p.grad is None for p in model.parameters())


def test_registry_lists_the_ten_methods() -> None:
    assert available_methods() == list(ALL_METHODS)


@pytest.mark.parametrize("method", ALL_METHODS)
def test_every_method_gives_finite_maps_of_input_size_on_a_tiny_bn_model(method: str) -> None:
    x = tiny_input()
    result = attribute(tiny_net(), x, AttributionConfig(method=method, **FAST))
    assert result.method == method
    assert result.maps.shape == (3, 32, 32) and result.maps.dtype == np.float32
    assert np.isfinite(result.maps).all()
    assert np.abs(result.maps).sum() > 0
    assert result.channel_maps is None


@pytest.mark.parametrize("method", ALL_METHODS)
def test_every_method_gives_finite_maps_on_torchvision_resnet18(resnet18: nn.Module, method: str) -> None:
    x = tiny_input(batch=2, channels=3, size=64)
    config = dataclasses.replace(AttributionConfig(method=method, **FAST), occlusion_window=16, occlusion_stride=16)
    result = attribute(resnet18, x, config)
    assert result.maps.shape == (2, 64, 64)
    assert np.isfinite(result.maps).all()
    assert np.abs(result.maps).sum() > 0


@pytest.mark.parametrize("noise_tunnel", NOISE_TUNNEL_TYPES)
@pytest.mark.parametrize("method", ["saliency", "integrated_gradients", "grad_cam"])
def test_noise_tunnel_types_give_finite_maps(method: str, noise_tunnel: str) -> None:
    result = attribute(tiny_net(), tiny_input(), AttributionConfig(method=method, noise_tunnel=noise_tunnel, **FAST))
    assert result.maps.shape == (3, 32, 32)
    assert np.isfinite(result.maps).all()
    assert np.abs(result.maps).sum() > 0


def test_smoothgrad_differs_from_the_plain_method() -> None:
    x = tiny_input()
    plain = attribute(tiny_net(), x, AttributionConfig(method="saliency")).maps
    config = AttributionConfig(method="saliency", noise_tunnel="smoothgrad", nt_samples=4)
    smooth = attribute(tiny_net(), x, config).maps
    assert not np.allclose(plain, smooth)


def test_keep_channels_gives_per_channel_maps_that_sum_to_the_map() -> None:
    x = tiny_input(channels=3)
    result = attribute(tiny_net(3), x, AttributionConfig(method="input_x_gradient", keep_channels=True))
    assert result.channel_maps.shape == (3, 3, 32, 32)
    np.testing.assert_allclose(result.channel_maps.sum(axis=1), result.maps, rtol=1e-5, atol=1e-7)
    cam = attribute(tiny_net(3), x, AttributionConfig(method="grad_cam", keep_channels=True))
    assert cam.channel_maps.shape == (3, 3, 32, 32)
    np.testing.assert_array_equal(cam.channel_maps[:, 1], cam.maps)


def test_input_x_gradient_map_is_input_times_gradient_summed_over_channels() -> None:
    model, x = tiny_net(3), tiny_input(batch=2, channels=3)
    result = attribute(model, x, AttributionConfig(method="input_x_gradient"), target=4)
    probe = x.clone().requires_grad_()
    (gradient,) = torch.autograd.grad(model(probe)[:, 4].sum(), probe)
    np.testing.assert_allclose(result.maps, (x * gradient).sum(dim=1).numpy(), rtol=1e-4, atol=1e-6)


def test_deeplift_is_complete_on_a_model_that_reuses_its_relu() -> None:
    # DeepLift's attributions sum to f(x) - f(baseline); that only holds when each call of the
    # reused ReLU gets its own saved input and output.
    model, x = tiny_net(), tiny_input()
    result = attribute(model, x, AttributionConfig(method="deeplift", baseline=0.0), target=2)
    with torch.no_grad():
        difference = model(x)[:, 2] - model(torch.zeros_like(x))[:, 2]
    np.testing.assert_allclose(result.maps.sum(axis=(1, 2)), difference.numpy(), rtol=1e-3, atol=1e-5)


def test_target_defaults_to_the_predicted_class() -> None:
    model, x = tiny_net(), tiny_input()
    predicted = model(x).argmax(dim=1).numpy()
    default = attribute(model, x, AttributionConfig(method="saliency"))
    explicit = attribute(model, x, AttributionConfig(method="saliency"), target=torch.as_tensor(predicted))
    np.testing.assert_array_equal(default.target, predicted)
    np.testing.assert_array_equal(default.predicted, predicted)
    np.testing.assert_array_equal(default.maps, explicit.maps)


@pytest.mark.parametrize("method", ["saliency", "grad_cam", "deeplift"])
def test_an_explicit_target_changes_the_map(method: str) -> None:
    model, x = tiny_net(), tiny_input()
    predicted = attribute(model, x, AttributionConfig(method=method))
    other = [(int(p) + 1) % 10 for p in predicted.predicted]
    changed = attribute(model, x, AttributionConfig(method=method), target=other)
    np.testing.assert_array_equal(changed.target, other)
    assert not np.allclose(changed.maps, predicted.maps)


@pytest.mark.parametrize("target", [10, -1, [1, 2], 1.5])
def test_a_bad_target_raises_a_clear_error(target) -> None:
    with pytest.raises(AttributionError, match="target"):
        attribute(tiny_net(), tiny_input(), AttributionConfig(), target=target)


@pytest.mark.parametrize("method", ALL_METHODS)
def test_the_callers_model_is_left_exactly_as_it_was(method: str) -> None:
    model = tiny_net()
    model.train()  # a forward pass of this model itself would move its BatchNorm statistics
    fired = []
    model.conv2.register_forward_hook(lambda module, inputs, output: fired.append(1))
    before = snapshot(model)
    attribute(model, tiny_input(), AttributionConfig(method=method, **FAST))
    assert_unchanged(model, before)
    assert fired == []  # the caller's hooks (GAIA's probes, say) never see attribution passes


def test_the_callers_model_is_unchanged_after_noise_tunnel_and_grad_flags_stay_mixed() -> None:
    model = tiny_net()
    model.conv1.weight.requires_grad_(False)
    before = snapshot(model)
    attribute(model, tiny_input(), AttributionConfig(method="guided_grad_cam", noise_tunnel="vargrad", **FAST))
    assert_unchanged(model, before)


def test_resnet18_is_left_unchanged_by_hooking_methods(resnet18: nn.Module) -> None:
    before = snapshot(resnet18)
    x = tiny_input(batch=1, channels=3, size=64)
    for method in ("deeplift", "guided_backprop", "guided_grad_cam"):
        attribute(resnet18, x, AttributionConfig(method=method))
    assert_unchanged(resnet18, before)


def test_concurrent_attributions_on_one_model_match_serial_ones() -> None:
    model, x = tiny_net(), tiny_input()
    configs = [
        AttributionConfig(method="deeplift"),
        AttributionConfig(method="guided_backprop"),
        AttributionConfig(method="grad_cam"),
        AttributionConfig(method="saliency", noise_tunnel="smoothgrad", nt_samples=4),
    ]
    serial = [attribute(model, x, config).maps for config in configs]
    rounds = 3
    start = threading.Barrier(len(configs))
    results: dict[int, list[np.ndarray]] = {i: [] for i in range(len(configs))}
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            start.wait()
            for _ in range(rounds):
                results[index].append(attribute(model, x, configs[index]).maps)
        except BaseException as error:  # re-raised in the main thread below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(configs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    for index, maps in results.items():
        assert len(maps) == rounds
        for concurrent in maps:
            np.testing.assert_allclose(concurrent, serial[index], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(
    "config",
    [
        AttributionConfig(method="gradient_shap", n_samples=4),
        AttributionConfig(method="saliency", noise_tunnel="smoothgrad_sq", nt_samples=4),
    ],
    ids=["gradient_shap", "smoothgrad_sq"],
)
def test_seeded_stochastic_maps_do_not_depend_on_the_batch(config: AttributionConfig) -> None:
    model, x = tiny_net(), tiny_input()
    batch = attribute(model, x, config).maps
    alone = attribute(model, x[1:2], config).maps
    np.testing.assert_allclose(alone[0], batch[1], rtol=1e-5, atol=1e-8)
    other_seed = attribute(model, x[1:2], dataclasses.replace(config, seed=7)).maps
    assert not np.allclose(other_seed, alone)


@pytest.mark.parametrize("method", ["integrated_gradients", "occlusion", "gradient_shap"])
def test_internal_batching_does_not_change_the_map(method: str) -> None:
    model, x = tiny_net(), tiny_input()
    small_config = AttributionConfig(method=method, internal_batch_size=1, batch_size=1, **FAST)
    small = attribute(model, x, small_config).maps
    large = attribute(model, x, AttributionConfig(method=method, internal_batch_size=64, **FAST)).maps
    if method == "gradient_shap":
        # Its random draws are taken per internal batch, so another batching draws other baselines;
        # the same configuration draws the same ones.
        np.testing.assert_array_equal(attribute(model, x, small_config).maps, small)
        assert small.shape == large.shape and not np.allclose(small, large)
    else:
        np.testing.assert_allclose(small, large, rtol=1e-4, atol=1e-6)


def test_attribution_works_inside_no_grad_and_inference_mode() -> None:
    model, x = tiny_net(), tiny_input()
    expected = attribute(model, x, AttributionConfig(method="saliency")).maps
    with torch.no_grad():
        np.testing.assert_array_equal(attribute(model, x, AttributionConfig(method="saliency")).maps, expected)
    with torch.inference_mode():
        frozen_x = x.clone()
        np.testing.assert_array_equal(attribute(model, frozen_x, AttributionConfig(method="saliency")).maps, expected)


def test_progress_reports_every_chunk() -> None:
    calls = []
    config = AttributionConfig(batch_size=2)
    attribute(tiny_net(), tiny_input(batch=5), config, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(2, 5), (4, 5), (5, 5)]


@pytest.mark.parametrize("method", ["grad_cam", "guided_grad_cam"])
def test_grad_cam_on_a_model_without_conv_layers_raises_a_clear_error(method: str) -> None:
    model = nn.Sequential(nn.Flatten(), nn.Linear(32 * 32, 10)).eval()
    with pytest.raises(AttributionError, match="Grad-CAM needs a convolutional layer"):
        attribute(model, tiny_input(), AttributionConfig(method=method))


def test_grad_cam_layer_errors_name_the_problem() -> None:
    with pytest.raises(AttributionError, match="no layer named 'layer9'"):
        attribute(tiny_net(), tiny_input(), AttributionConfig(method="grad_cam", layer="layer9"))
    with pytest.raises(AttributionError, match="feature map"):
        attribute(tiny_net(), tiny_input(), AttributionConfig(method="grad_cam", layer="fc"))


def test_default_cam_layer_is_the_feature_layer_else_the_last_conv(resnet18: nn.Module) -> None:
    assert default_cam_layer(resnet18) == "layer4"
    assert default_cam_layer(tiny_net()) == "conv2"
    result = attribute(tiny_net(), tiny_input(), AttributionConfig(method="grad_cam", layer="conv1"))
    assert result.layer == "conv1"
    assert attribute(tiny_net(), tiny_input(), AttributionConfig(method="saliency")).layer is None


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"method": "lime"}, "unknown attribution method 'lime'"),
        ({"noise_tunnel": "smooth"}, "unknown noise tunnel"),
        ({"n_steps": 0}, "n_steps must be a positive integer"),
        ({"nt_stdev": -1.0}, "nt_stdev"),
        ({"occlusion_stride": 0}, "occlusion_stride"),
    ],
)
def test_invalid_configs_raise_clear_errors(fields: dict, message: str) -> None:
    with pytest.raises(AttributionError, match=message):
        AttributionConfig(**fields)


def test_a_baseline_per_channel_must_match_the_channels() -> None:
    with pytest.raises(AttributionError, match="one per channel"):
        attribute(tiny_net(), tiny_input(), AttributionConfig(method="integrated_gradients", baseline=(0.0, 1.0)))
    model, x, black = tiny_net(3), tiny_input(channels=3), (-0.5, -1.0, -2.0)
    result = attribute(model, x, AttributionConfig(method="deeplift", baseline=black), target=1)
    with torch.no_grad():
        reference = torch.tensor(black).view(1, 3, 1, 1).expand_as(x)
        difference = model(x)[:, 1] - model(reference)[:, 1]
    np.testing.assert_allclose(result.maps.sum(axis=(1, 2)), difference.numpy(), rtol=1e-3, atol=1e-5)


def test_an_occlusion_window_larger_than_the_image_raises_a_clear_error() -> None:
    with pytest.raises(AttributionError, match="cannot exceed input dimensions"):
        attribute(tiny_net(), tiny_input(), AttributionConfig(method="occlusion", occlusion_window=40))


def test_input_must_be_a_4d_float_batch() -> None:
    with pytest.raises(AttributionError, match=r"\(B, C, H, W\)"):
        attribute(tiny_net(), torch.randn(1, 32, 32))
    with pytest.raises(AttributionError, match="empty"):
        attribute(tiny_net(), torch.randn(0, 1, 32, 32))


# Readouts of concentration


def test_sparsity_is_zero_for_a_uniform_map_and_one_minus_one_over_n_for_one_pixel() -> None:
    maps = np.zeros((2, 4, 4))
    maps[0] = -3.0
    maps[1, 2, 1] = 5.0
    np.testing.assert_allclose(sparsity(maps), [0.0, 1 - 1 / 16], atol=1e-12)
    assert sparsity(maps[1]) == pytest.approx(1 - 1 / 16)


def test_gini_of_a_two_level_map_matches_the_closed_form() -> None:
    # half the pixels 1, half 0: Gini = 1/2
    values = np.array([[0.0, 1.0], [0.0, 1.0]])
    assert sparsity(values) == pytest.approx(0.5)


def test_entropy_is_one_for_a_uniform_map_and_zero_for_one_pixel() -> None:
    maps = np.zeros((3, 4, 4))
    maps[0] = 2.0
    maps[1, 0, 0] = -1.0
    maps[2, :2] = 1.0  # 8 of 16 pixels: log 8 / log 16 = 3/4
    np.testing.assert_allclose(entropy(maps), [1.0, 0.0, 0.75], atol=1e-12)


def test_top_mass_is_the_share_held_by_the_strongest_pixels() -> None:
    values = np.arange(10, dtype=float).reshape(2, 5)  # total 45, top 10% = one pixel = 9
    assert top_mass(values, fraction=0.1) == pytest.approx(9 / 45)
    assert top_mass(values, fraction=1.0) == pytest.approx(1.0)


def test_readouts_of_an_all_zero_map_are_nan() -> None:
    for readout in READOUTS.values():
        assert np.isnan(readout.compute(np.zeros((4, 4))))


def test_readouts_reject_non_finite_maps() -> None:
    with pytest.raises(AttributionError, match="NaN"):
        sparsity(np.full((2, 2), np.nan))


def test_a_blurred_baseline_keeps_a_flat_image_and_spreads_a_bright_pixel_keeping_its_mass():
    flat = torch.full((1, 2, 16, 16), 0.7)
    torch.testing.assert_close(blurred(flat, 0.1), flat)
    dot = torch.zeros(1, 1, 16, 16)
    dot[0, 0, 8, 8] = 1.0
    spread = blurred(dot, 0.1)
    assert spread.shape == dot.shape
    assert spread.max() < 0.5 and spread[0, 0, 8, 8] == spread.max()  # peak stays, lower
    assert spread.sum().item() == pytest.approx(1.0, abs=1e-5)  # far from the edges nothing is lost
    assert (spread[0, 0, 8, 5:12] > 0).all()  # the neighbours get some


def test_uniform_noise_stays_in_each_inputs_channel_range_and_does_not_depend_on_the_batch():
    x = tiny_input(batch=3, channels=2)
    noise = uniform_noise(x, seed=0)
    low, high = x.amin(dim=(2, 3), keepdim=True), x.amax(dim=(2, 3), keepdim=True)
    assert ((noise >= low) & (noise <= high)).all()
    torch.testing.assert_close(uniform_noise(x[1:2], seed=0), noise[1:2])  # alone or in a batch
    torch.testing.assert_close(uniform_noise(x, seed=0), noise)  # seeded: the same draw
    assert not torch.equal(uniform_noise(x, seed=1), noise)


def test_baselines_carry_no_gradient_and_have_the_inputs_shape():
    x = tiny_input().requires_grad_()
    for kind in ("constant", "blurred", "uniform_noise"):
        reference = baseline_images(x, kind, 0.0, 0.1, 0)
        assert reference.shape == x.shape and not reference.requires_grad, kind


@pytest.mark.parametrize("kind", ["blurred", "uniform_noise"])
def test_deeplift_explains_the_change_from_the_chosen_baseline(kind):
    model, x = tiny_net(), tiny_input()
    config = AttributionConfig(method="deeplift", baseline_type=kind)
    result = attribute(model, x, config, target=2)
    reference = baseline_images(x, kind, 0.0, config.blur_sigma, config.seed)
    with torch.no_grad():
        change = model(x)[:, 2] - model(reference)[:, 2]
    np.testing.assert_allclose(result.maps.sum(axis=(1, 2)), change.numpy(), rtol=1e-3, atol=1e-5)
    zeros = attribute(model, x, AttributionConfig(method="deeplift"), target=2)
    assert not np.allclose(result.maps, zeros.maps)  # another baseline, another map


def test_integrated_gradients_takes_every_baseline_also_under_a_noise_tunnel():
    model, x = tiny_net(), tiny_input()
    for kind in ("constant", "blurred", "uniform_noise"):
        for noise in (None, "smoothgrad"):
            config = AttributionConfig(method="integrated_gradients", baseline_type=kind, noise_tunnel=noise, **FAST)
            maps = attribute(model, x, config).maps
            assert maps.shape == (3, 32, 32) and np.isfinite(maps).all(), (kind, noise)


def test_only_methods_that_explain_a_change_from_a_reference_take_a_baseline_choice():
    assert {m for m in ("integrated_gradients", "deeplift", "occlusion") if method_spec(m).uses_baseline} == {
        "integrated_gradients",
        "deeplift",
        "occlusion",
    }
    assert not method_spec("saliency").uses_baseline and not method_spec("gradient_shap").uses_baseline
    with pytest.raises(AttributionError, match="takes no reference image"):
        AttributionConfig(method="saliency", baseline_type="blurred")
    with pytest.raises(AttributionError, match="unknown baseline_type"):
        AttributionConfig(method="deeplift", baseline_type="black")
    with pytest.raises(AttributionError, match="blur_sigma"):
        AttributionConfig(method="deeplift", baseline_type="blurred", blur_sigma=0.0)


def test_signs_are_captums_with_absolute_value_read_as_absolute():
    assert AttributionConfig(method="integrated_gradients", sign="absolute_value").sign == "absolute"
    assert AttributionConfig(method="deeplift", sign="negative").sign == "negative"
    with pytest.raises(AttributionError, match="unknown sign"):
        AttributionConfig(sign="both")
    assert method_spec("integrated_gradients").signed and method_spec("deeplift").signed
    assert not method_spec("saliency").signed  # |gradient|: one sign only


def test_grad_cam_layers_are_the_conv_stages_and_every_conv_in_network_order():
    torch.manual_seed(0)
    resnet = torchvision.models.resnet18(weights=None, num_classes=10).eval()
    layers = cam_layers(resnet)
    assert default_cam_layer(resnet) == "layer4" and "layer4" in layers
    assert {"conv1", "layer1", "layer2", "layer3", "layer4", "layer4.1.conv2", "layer2.0.downsample.0"} <= set(layers)
    assert layers.index("layer3") < layers.index("layer3.0.conv1") < layers.index("layer4")
    assert all(isinstance(resnet.get_submodule(name), nn.Conv2d) or "." not in name for name in layers)
    assert cam_layers(tiny_net()) == ["conv1", "conv2"]
    for layer in cam_layers(tiny_net()):
        assert attribute(tiny_net(), tiny_input(), AttributionConfig(method="grad_cam", layer=layer)).layer == layer
    with pytest.raises(AttributionError, match="Conv2d"):
        cam_layers(nn.Sequential(nn.Flatten(), nn.Linear(4, 2)))


def test_the_colour_bar_runs_from_vmax_at_the_top_to_zero_or_minus_vmax_at_the_bottom():
    bar = colorbar(96, vmax=0.5)
    np.testing.assert_array_equal(bar[0, 0], INFERNO[255])
    np.testing.assert_array_equal(bar[-1, 0], INFERNO[0])
    labels = bar[:, 14:]  # right of the strip (96 // 8 = 12 px wide)
    assert (labels < 128).any(), "its values are written beside it"
    diverging = colorbar(97, vmax=2.0, sign="all")
    np.testing.assert_array_equal(diverging[0, 0], BLUE_WHITE_RED[255])
    np.testing.assert_array_equal(diverging[48, 0], BLUE_WHITE_RED[128])  # 0: near white
    np.testing.assert_array_equal(diverging[-1, 0], BLUE_WHITE_RED[0])
    with pytest.raises(AttributionError, match="unknown sign"):
        colorbar(96, 1.0, sign="both")


def test_a_map_with_its_colour_bar_keeps_the_map_and_adds_the_bar_to_its_right():
    tile = np.full((64, 64, 3), 40, dtype=np.uint8)
    shown = with_colorbar(tile, vmax=1.0)
    assert shown.shape[0] == 64 and shown.shape[1] > 64 + 8 and shown.dtype == np.uint8
    np.testing.assert_array_equal(shown[:, :64], tile)
    np.testing.assert_array_equal(shown[0, 64 + 6], INFERNO[255])  # the bar's top, after the gap
