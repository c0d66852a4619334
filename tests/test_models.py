"""Model registry, architecture defaults, and safe checkpoint loading."""

import pickle

import pytest
import torch
import torchvision
from safetensors.torch import save_file

from gaia_core.models import CheckpointError, class_label, get_spec, load_model, read_state_dict, weights_fingerprint
from gaia_core.models.cifar_resnet import cifar_resnet18, cifar_resnet50
from gaia_core.models.torchvision_zoo import IMAGENET_MODELS, build
from gaia_core.scores import gaia_a, gaia_z
from gaia_core.scores.taps import default_feature_layer, default_gaia_a_layers, default_head_layer


def test_cifar_resnet_keys_match_the_released_checkpoint_layout():
    keys = set(cifar_resnet18().state_dict())
    for key in (
        "conv1.weight",
        "bn1.running_var",
        "layer1.0.conv1.weight",
        "layer1.0.bn2.bias",
        "layer2.0.shortcut.0.weight",
        "layer2.0.shortcut.1.running_mean",
        "layer4.1.conv2.weight",
        "linear.weight",
        "linear.bias",
    ):
        assert key in keys
    assert "layer3.0.conv3.weight" in cifar_resnet50().state_dict()
    assert cifar_resnet18()(torch.randn(2, 3, 32, 32)).shape == (2, 10)


@pytest.mark.parametrize("name", IMAGENET_MODELS)
def test_imagenet_models_have_working_gaia_defaults(name):
    model = build(name, num_classes=5).eval()
    x = torch.randn(2, 3, 64, 64)
    assert default_gaia_a_layers(model) and default_head_layer(model)
    for result in (gaia_a(model, x), gaia_z(model, x)):
        assert result.score.shape == (2,) and torch.isfinite(result.score).all()


def test_densenet_feature_layer_outputs_the_global_pool_input():
    model = build("densenet121", num_classes=5).eval()
    x = torch.randn(1, 3, 64, 64)
    assert default_feature_layer(model) == "features"
    features = model.features(x)
    assert (features >= 0).all()  # the final ReLU is inside `features`
    torch.testing.assert_close(model.classifier(features.mean(dim=(2, 3))), model(x))


def test_imagenet_spec_follows_the_weights_preprocessing():
    spec = get_spec("resnet50")
    weights = torchvision.models.get_model_weights("resnet50").DEFAULT.transforms()
    assert (spec.input_size, spec.resize_size, spec.family) == (
        weights.crop_size[0],
        weights.resize_size[0],
        "imagenet",
    )
    assert spec.mean == pytest.approx((0.485, 0.456, 0.406))


def test_safetensors_and_wrapped_pth_checkpoints_load(tmp_path):
    model = cifar_resnet18(10)
    save_file(model.state_dict(), tmp_path / "w.safetensors")
    torch.save({"epoch": 3, "net": {f"module.{k}": v for k, v in model.state_dict().items()}}, tmp_path / "w.pth")
    for file in ("w.safetensors", "w.pth"):
        loaded = load_model("cifar_resnet18", tmp_path / file, device="cpu")
        assert weights_fingerprint(loaded) == weights_fingerprint(model)
        assert not loaded.training


def test_format_is_decided_by_content_not_extension(tmp_path):
    model = cifar_resnet18(10)
    save_file(model.state_dict(), tmp_path / "weights.pth")
    assert set(read_state_dict(tmp_path / "weights.pth")) == set(model.state_dict())


class _RunsCode:
    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def test_pickle_that_would_run_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    payload = _RunsCode()
    payload.marker = marker
    (tmp_path / "evil.pth").write_bytes(pickle.dumps({"state_dict": payload}))
    with pytest.raises(CheckpointError, match="refused evil.pth"):
        read_state_dict(tmp_path / "evil.pth")
    assert not marker.exists()


def test_wrong_class_count_is_explained(tmp_path):
    save_file(cifar_resnet18(100).state_dict(), tmp_path / "c100.safetensors")
    with pytest.raises(
        CheckpointError, match=r"linear.weight: checkpoint \(100, 512\) vs model \(10, 512\).*number of classes"
    ):
        load_model("cifar_resnet18", tmp_path / "c100.safetensors", num_classes=10, device="cpu")
    assert load_model("cifar_resnet18", tmp_path / "c100.safetensors", num_classes=100, device="cpu")
    # Without a stated number, it is read from the classifier weight's shape.
    assert load_model("cifar_resnet18", tmp_path / "c100.safetensors", device="cpu").linear.out_features == 100


def test_wrong_architecture_lists_missing_and_unexpected_keys(tmp_path):
    save_file(cifar_resnet50(10).state_dict(), tmp_path / "r50.safetensors")
    with pytest.raises(
        CheckpointError, match="198 unexpected keys: layer1.0.bn3.bias.*shape mismatches.*another architecture"
    ):
        load_model("cifar_resnet18", tmp_path / "r50.safetensors", device="cpu")


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", b"PK\x03\x04broken zip"])
def test_corrupt_checkpoint_is_a_clear_error(tmp_path, content):
    (tmp_path / "bad.pt").write_bytes(content)
    with pytest.raises(CheckpointError, match="bad.pt"):
        read_state_dict(tmp_path / "bad.pt")


def test_oversized_checkpoint_is_refused_before_reading(tmp_path):
    save_file(cifar_resnet18(10).state_dict(), tmp_path / "w.safetensors")
    with pytest.raises(CheckpointError, match="over the"):
        read_state_dict(tmp_path / "w.safetensors", max_bytes=1024)


def test_missing_pretrained_weights_say_which_file_goes_where(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(CheckpointError, match=rf"expected {tmp_path}/hub/checkpoints/resnet18-.*\.pth.*download"):
        load_model("resnet18", pretrained=True, device="cpu")


def test_cifar_model_without_weights_is_refused():
    with pytest.raises(CheckpointError, match="needs weights"):
        load_model("cifar_resnet18", device="cpu")
    assert load_model("cifar_resnet18", random_init=True, device="cpu")


def test_class_labels_name_cifar_and_imagenet_classes_and_fall_back_to_the_index():
    assert class_label(get_spec("cifar_resnet18"), 10, 7) == "7 · horse"
    assert class_label(get_spec("resnet50"), 1000, 207) == "207 · golden retriever"
    assert class_label(get_spec("cifar_resnet18"), 100, 7) == "7"  # CIFAR-100: no names shipped
    assert class_label(get_spec("demo"), 10, 3) == "3"
