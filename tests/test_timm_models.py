"""timm models: fused norm+activation taps, scores equal to torchvision's, structural defaults,
preprocessing from the pretrained configuration, weights never downloaded."""

import pytest
import timm
import torch
import torchvision
from conftest import randomize_norm_stats
from timm.layers import BatchNormAct2d
from torch import nn

from gaia_core.models import CheckpointError, get_spec, load_model
from gaia_core.models.registry import checkpoint_classes
from gaia_core.scores import create, score_many
from gaia_core.scores.taps import default_feature_layer, default_gaia_a_layers, default_gaia_z_layers

ALL_METHODS = ("gaia_z", "gaia_a", "msp", "maxlogit", "energy", "odin", "gradnorm")


def _scores(model, x):
    scores = {name: r.score for name, r in score_many(model, x, [create(n) for n in ALL_METHODS]).items()}
    scores["react"] = create("react").fit(model, [x])(model, x).score
    return scores


class _Net(nn.Module):
    """conv -> norm(+act) -> conv -> norm(+act) -> pool -> fc, fused or as separate modules."""

    def __init__(self, fused: bool):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        if fused:
            self.bn1, self.bn2 = BatchNormAct2d(8), BatchNormAct2d(8)
            self.act1 = self.act2 = nn.Identity()
        else:
            self.bn1, self.bn2 = nn.BatchNorm2d(8), nn.BatchNorm2d(8)
            self.act1, self.act2 = nn.ReLU(inplace=True), nn.ReLU(inplace=True)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        x = self.act1(self.bn1(self.conv1(x)))
        x = self.act2(self.bn2(self.conv2(x)))
        return self.fc(x.mean(dim=(2, 3)))


def test_fused_norm_act_model_scores_equal_the_unfused_model():
    unfused = randomize_norm_stats(_Net(fused=False)).eval()
    fused = _Net(fused=True).eval()
    fused.load_state_dict(unfused.state_dict())
    x = torch.randn(4, 3, 8, 8)
    z = create("gaia_z", layers=["bn1", "bn2"])
    a = create("gaia_a", inner_layers=["bn1"], feature_layer="bn2")
    # Unfused: F is the ReLU after bn2; fused: the fused module's output (its ReLU's output).
    a_unfused = create("gaia_a", inner_layers=["bn1"], feature_layer="act2")
    assert torch.equal(z(fused, x).score, z(unfused, x).score)
    assert torch.equal(a(fused, x).score, a_unfused(unfused, x).score)
    for name in ("bn1", "bn2"):
        assert torch.equal(z(fused, x).channels[name], z(unfused, x).channels[name])


def test_fused_tap_reads_the_value_before_the_activation():
    fused = randomize_norm_stats(_Net(fused=True)).eval()
    x = torch.randn(4, 3, 8, 8)
    ratios = create("gaia_z", layers=["bn1"])(fused, x).channels["bn1"]
    # Post-ReLU taps would see the gradient through the ReLU mask only where the norm output is
    # positive; pre-activation the gradient is zero where it is negative: recompute by hand.
    unfused = _Net(fused=False).eval()
    unfused.load_state_dict(fused.state_dict())
    assert torch.equal(ratios, create("gaia_z", layers=["bn1"])(unfused, x).channels["bn1"])


def _calibrated(model, size=64, seed=0):
    torch.manual_seed(seed)
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(8, 3, size, size))
    return model.eval()


def test_timm_resnet18_and_torchvision_resnet18_give_identical_scores():
    tv = _calibrated(torchvision.models.resnet18(weights=None, num_classes=10))
    tm = timm.create_model("resnet18", pretrained=False, num_classes=10)
    tm.load_state_dict(tv.state_dict())
    tm.eval()
    assert default_gaia_z_layers(tm) == default_gaia_z_layers(tv)
    assert default_gaia_a_layers(tm) == default_gaia_a_layers(tv)
    assert default_feature_layer(tm) == default_feature_layer(tv) == "layer4"
    x = torch.randn(3, 3, 64, 64)
    ours, theirs = _scores(tm, x), _scores(tv, x)
    assert set(ours) == {*ALL_METHODS, "react"}
    for name in ours:
        assert torch.equal(ours[name], theirs[name]), name


SWEEP = ("resnetv2_50", "efficientnet_b0", "convnext_atto", "regnety_002", "densenet121", "mobilenetv3_small_100")


@pytest.mark.parametrize("arch", SWEEP)
def test_default_feature_layer_outputs_what_forward_features_returns(arch):
    model = timm.create_model(arch, pretrained=False).eval()
    seen = {}
    handle = model.get_submodule(default_feature_layer(model)).register_forward_hook(
        lambda m, i, o: seen.setdefault("F", o.clone())
    )
    try:
        with torch.no_grad():
            features = model.forward_features(torch.randn(1, 3, 64, 64))
    finally:
        handle.remove()
    assert torch.equal(seen["F"], features)


@pytest.mark.parametrize("arch", SWEEP)
def test_gaia_a_default_layers_are_the_norms_of_the_last_two_stages(arch):
    model = timm.create_model(arch, pretrained=False)
    stage = model.feature_info[-3]["module"]
    inner, everything = default_gaia_a_layers(model), default_gaia_z_layers(model)
    assert inner == everything[len(everything) - len(inner) :]
    assert not any(n.startswith(stage + ".") for n in inner)
    last = model.feature_info[-1]["module"]
    assert any(n == last or n.startswith(last + ".") for n in inner)


def test_convnext_head_norm_on_the_pooled_vector_is_not_tapped():
    model = timm.create_model("convnext_atto", pretrained=False)
    assert "head.norm" not in default_gaia_z_layers(model)


def test_timm_spec_carries_the_pretrained_configuration():
    spec = get_spec("timm:resnet50")
    cfg = timm.data.resolve_data_config({}, model=timm.create_model("resnet50", pretrained=False))
    assert (spec.input_size, spec.mean, spec.std, spec.interpolation) == (
        224,
        cfg["mean"],
        cfg["std"],
        "bicubic",
    )
    assert spec.resize_size == int(224 / cfg["crop_pct"])
    assert spec.family == "imagenet" and spec.has_pretrained


def test_timm_image_transform_is_timms_own():
    from PIL import Image

    from gaia_core.data.transforms import image_transform

    image = Image.new("RGB", (300, 260), (120, 30, 200))
    expected = timm.data.create_transform(
        **timm.data.resolve_data_config({}, model=timm.create_model("efficientnet_b0", pretrained=False))
    )(image)
    assert torch.equal(image_transform(get_spec("timm:efficientnet_b0"))(image), expected)


def test_unknown_timm_name_is_a_clear_error():
    from gaia_core.errors import GaiaError

    with pytest.raises(GaiaError, match="timm has no model 'resnet5000'"):
        get_spec("timm:resnet5000")


def test_pretrained_timm_weights_offline_name_the_file_and_hf_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(CheckpointError, match=r"model\.safetensors.*models--timm--resnet18"):
        load_model("timm:resnet18", pretrained=True, download=False, device="cpu")


@pytest.mark.parametrize("name", ["timm:resnet18", "resnet18", "cifar_resnet18"])
def test_number_of_classes_is_read_from_the_checkpoint(tmp_path, name):
    from safetensors.torch import save_file

    source = load_model(name, num_classes=7, random_init=True, device="cpu")
    path = tmp_path / "seven.safetensors"
    save_file({k: v.contiguous() for k, v in source.state_dict().items()}, str(path))
    loaded = load_model(name, path, device="cpu")
    assert checkpoint_classes(source.state_dict()) == 7
    assert torch.equal(loaded(torch.zeros(1, 3, 32, 32)), source(torch.zeros(1, 3, 32, 32)))


def test_cli_takes_timm_names_and_explains_unknown_ones(capsys):
    from gaia_core.cli import main

    assert main(["evaluate", "--model", "timm:resnet5000", "--id", "digits", "--ood", "noise"]) != 0
    err = capsys.readouterr().err
    assert "timm has no model 'resnet5000'" in err and "Traceback" not in err
    assert main(["models"]) == 0
    assert "timm:<name>" in capsys.readouterr().out


def _penultimate_and_classifier(model, x):
    """timm's own pooled penultimate features (B, D) and the classifier map as a function of them."""
    features = model.forward_head(model.forward_features(x), pre_logits=True)
    head = model.get_classifier()
    if isinstance(head, nn.Conv2d):
        return features, lambda h: head(h[:, :, None, None]).flatten(1)
    return features, head


@pytest.mark.parametrize("name", ["regnety_002", "convnext_atto", "resnetv2_50x1_bit"])
def test_react_and_gradnorm_use_the_pooled_penultimate_features_whatever_the_timm_head(name):
    from copy import deepcopy

    from gaia_core.scores.energy import free_energy

    torch.manual_seed(0)
    model = timm.create_model(name, pretrained=False, num_classes=6).eval()
    x = torch.randn(3, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        features, classify = _penultimate_and_classifier(model, x)
    threshold = float(features.quantile(0.6))
    react = create("react", threshold=threshold)(model, x).score
    torch.testing.assert_close(react, free_energy(classify(features.clamp(max=threshold)), 1.0))
    fitted = create("react").fit(model, [x])
    assert fitted.threshold == pytest.approx(float(torch.quantile(features.flatten().double(), 0.9)), rel=1e-6)

    # GradNorm by autograd: the L1 norm of d KL(uniform || softmax(y)) / dW for the classifier weight W.
    twin = deepcopy(model)
    weight = twin.get_classifier().weight
    expected = []
    for i in range(len(x)):
        loss = -torch.log_softmax(twin(x[i : i + 1]), dim=1).mean()
        expected.append(-torch.autograd.grad(loss, weight)[0].abs().sum())
    torch.testing.assert_close(create("gradnorm")(model, x).score, torch.stack(expected), rtol=1e-4, atol=1e-6)
