"""The embedded demo world: offline datasets, the shipped model, and its training script."""

import hashlib
import json

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file
from sklearn.datasets import load_digits
from torch import nn
from torchvision.models.resnet import BasicBlock

from gaia_core.demo import DEMO_REPORT, DEMO_SAMPLES_DIR, DEMO_WEIGHTS, build_demo_model
from gaia_core.demo.data import (
    DEMO_MEAN,
    DEMO_SETS,
    DEMO_STD,
    SAMPLES_PER_SET,
    DemoDataError,
    _cached_set,
    digits_pixel_stats,
    digits_split_indices,
    load_demo_set,
    normalize,
    upscale_8x8,
)
from gaia_core.demo.train import TrainConfig, evaluate_accuracy, main, random_shift, train_demo_model
from gaia_core.models import load_model
from gaia_core.scores.taps import default_feature_layer

OOD_SETS = [name for name, s in DEMO_SETS.items() if not s.is_id]


def test_registry_has_one_id_set_and_five_ood_sets():
    assert [n for n, s in DEMO_SETS.items() if s.is_id] == ["digits"]
    assert set(OOD_SETS) == {"letters", "natural", "textures", "noise", "shifted"}
    assert all(s.title and s.description and s.name == n for n, s in DEMO_SETS.items())


def test_digit_split_is_fixed_stratified_and_disjoint():
    train, test = digits_split_indices()
    target = load_digits().target
    assert len(np.intersect1d(train, test)) == 0
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(len(target)))
    assert len(test) == 450
    # Stratified: every class keeps its share of the test split to within one image.
    expected = np.bincount(target) * len(test) / len(target)
    assert np.all(np.abs(np.bincount(target[test]) - expected) <= 1)
    again_train, again_test = digits_split_indices()
    assert np.array_equal(train, again_train) and np.array_equal(test, again_test)


def test_digits_are_the_sklearn_digits_scaled_and_upscaled():
    train, test = digits_split_indices()
    digits = load_digits()
    for split, rows in (("train", train), ("test", test)):
        images, labels = load_demo_set("digits", split)
        assert np.array_equal(labels, digits.target[rows])
        assert np.allclose(images, upscale_8x8(digits.images[rows] / 16.0))


def test_upscale_keeps_a_constant_image_constant():
    small = np.full((2, 8, 8), 0.25)
    small[1] = 1.0
    big = upscale_8x8(small)
    assert big.shape == (2, 1, 32, 32) and big.dtype == np.float32
    assert np.allclose(big[0], 0.25) and np.allclose(big[1], 1.0)


@pytest.mark.parametrize("name", list(DEMO_SETS))
def test_every_set_has_the_digits_format(name):
    images, labels = load_demo_set(name)
    assert images.dtype == np.float32 and images.ndim == 4 and images.shape[1:] == (1, 32, 32)
    assert 200 <= len(images) <= 1000 and labels.shape == (len(images),)
    assert labels.dtype == np.int64
    assert images.min() >= 0.0 and images.max() <= 1.0
    assert images.std() > 0.05  # not blank
    if DEMO_SETS[name].is_id:
        assert set(labels.tolist()) == set(range(10))
    else:
        assert np.all(labels == -1)


@pytest.mark.parametrize("name", OOD_SETS)
def test_ood_sets_are_regenerated_identically(name):
    first, _ = load_demo_set(name)
    _cached_set.cache_clear()  # force the generator to run again
    second, _ = load_demo_set(name)
    assert np.array_equal(first, second)


def test_ood_sets_differ_from_each_other():
    means = {name: load_demo_set(name)[0].mean(axis=0) for name in DEMO_SETS}
    names = list(means)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not np.allclose(means[a], means[b], atol=1e-3), (a, b)


def test_callers_cannot_corrupt_the_cache():
    images, labels = load_demo_set("letters")
    images[:] = 7.0
    labels[:] = 3
    fresh_images, fresh_labels = load_demo_set("letters")
    assert fresh_images.max() <= 1.0 and np.all(fresh_labels == -1)


def test_shifted_digits_are_transformed_test_digits():
    digits, _ = load_demo_set("digits", "test")
    shifted, _ = load_demo_set("shifted")
    # The first one is only inverted.
    assert np.allclose(shifted[0], 1.0 - digits[0])
    # None of them is left unchanged.
    assert all(not np.allclose(s, d, atol=0.05) for s, d in zip(shifted, digits))


def test_unknown_set_or_split_raises_a_clear_error():
    with pytest.raises(DemoDataError, match="unknown demo set 'svhn'.*digits"):
        load_demo_set("svhn")
    with pytest.raises(DemoDataError, match="unknown split 'val'"):
        load_demo_set("digits", "val")


def test_normalization_constants_come_from_the_digits_train_split():
    mean, std = digits_pixel_stats()
    assert pytest.approx(mean, abs=1e-4) == DEMO_MEAN
    assert pytest.approx(std, abs=1e-4) == DEMO_STD


def test_normalize_standardizes_with_the_demo_constants():
    images = np.array([0.0, DEMO_MEAN, 1.0], dtype=np.float32).reshape(3, 1, 1, 1)
    x = normalize(images)
    assert isinstance(x, torch.Tensor) and x.dtype == torch.float32 and x.shape == (3, 1, 1, 1)
    assert torch.allclose(x.flatten(), torch.tensor([-DEMO_MEAN / DEMO_STD, 0.0, (1 - DEMO_MEAN) / DEMO_STD]))


def test_model_names_follow_torchvision_resnet():
    model = build_demo_model()
    names = dict(model.named_modules())
    for name in ("conv1", "bn1", "relu", "layer1", "layer2", "layer3", "layer4", "avgpool", "fc"):
        assert name in names
    for stage in ("layer3", "layer4"):
        assert any(isinstance(m, nn.BatchNorm2d) for m in model.get_submodule(stage).modules())
    assert all(isinstance(block, BasicBlock) for s in ("layer1", "layer2", "layer3", "layer4") for block in names[s])
    assert isinstance(model.avgpool, nn.AdaptiveAvgPool2d) and isinstance(model.fc, nn.Linear)
    assert model.conv1.kernel_size == (3, 3) and model.conv1.stride == (1, 1) and model.conv1.in_channels == 1
    assert not any(isinstance(m, nn.MaxPool2d) for m in model.modules())
    assert default_feature_layer(model) == "layer4"


def test_model_maps_32x32_digits_to_10_logits_via_a_4x4_feature_map():
    model = build_demo_model().eval()
    features = []
    handle = model.layer4.register_forward_hook(lambda m, i, o: features.append(o.shape))
    try:
        with torch.no_grad():
            logits = model(torch.zeros(2, 1, 32, 32))
    finally:
        handle.remove()
    assert logits.shape == (2, 10)
    assert features == [torch.Size([2, 128, 4, 4])]


def test_build_demo_model_leaves_the_mode_to_the_caller():
    assert build_demo_model().training


def test_shipped_weights_reach_95_percent_test_accuracy():
    model = load_model("demo", device="cpu")
    assert not model.training
    assert next(model.parameters()).device.type == "cpu"
    images, labels = load_demo_set("digits", "test")
    with torch.no_grad():
        predictions = model(normalize(images)).argmax(1).numpy()
    assert (predictions == labels).mean() >= 0.95


def test_shipped_report_matches_the_shipped_weights():
    report = json.loads(DEMO_REPORT.read_text())
    assert report["weights_sha256"] == hashlib.sha256(DEMO_WEIGHTS.read_bytes()).hexdigest()
    assert report["test_accuracy"] >= 0.95
    assert report["num_parameters"] == sum(p.numel() for p in build_demo_model().parameters())
    for key in ("seed", "epochs", "train_seconds"):
        assert key in report
    assert DEMO_WEIGHTS.stat().st_size <= 5 * 2**20


def test_random_shift_moves_each_image_by_at_most_max_shift():
    images = torch.zeros(16, 1, 12, 12)
    images[:, 0, 6, 6] = 1.0
    shifted = random_shift(images, 2, torch.Generator().manual_seed(0))
    assert shifted.shape == images.shape
    positions = [divmod(int(s.flatten().argmax()), 12) for s in shifted]
    assert all(abs(r - 6) <= 2 and abs(c - 6) <= 2 for r, c in positions)
    assert len(set(positions)) > 1
    assert torch.equal(shifted.sum(dim=(1, 2, 3)), torch.ones(16))


@pytest.mark.slow  # training
def test_one_epoch_on_a_subset_writes_loadable_reproducible_weights(tmp_path):
    config = TrainConfig(epochs=1, train_subset=96, batch_size=32, threads=1)
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    rng_state = torch.get_rng_state()

    report = train_demo_model(config, tmp_path / "a" / "w.safetensors", tmp_path / "samples", progress=False)

    assert torch.get_num_threads() == threads
    assert torch.are_deterministic_algorithms_enabled() == deterministic
    assert torch.equal(torch.get_rng_state(), rng_state)
    weights = tmp_path / "a" / "w.safetensors"
    model = build_demo_model()
    model.load_state_dict(load_file(str(weights)))  # strict: every key present, no extras
    written = json.loads((tmp_path / "a" / "w.json").read_text())
    assert written == report
    assert written["epochs"] == 1 and written["train_images"] == 96 and 0.0 <= written["test_accuracy"] <= 1.0
    assert written["weights_sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert len(list((tmp_path / "samples").glob("*/*.png"))) == SAMPLES_PER_SET * len(DEMO_SETS)

    again = train_demo_model(config, tmp_path / "b" / "w.safetensors", None, progress=False)
    assert again["weights_sha256"] == report["weights_sha256"]


def test_evaluate_accuracy_counts_argmax_hits():
    model = nn.Sequential(nn.Flatten(), nn.Identity())
    x = torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]).reshape(3, 2, 1, 1)
    assert evaluate_accuracy(model, x, torch.tensor([1, 0, 0])) == pytest.approx(2 / 3)


def test_train_help_documents_its_options(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--epochs", "--seed", "--out"):
        assert option in text


@pytest.mark.parametrize("name", list(DEMO_SETS))
def test_sample_pngs_ship_for_every_set(name):
    images, _ = load_demo_set(name)
    for k in range(SAMPLES_PER_SET):
        with Image.open(DEMO_SAMPLES_DIR / name / f"{k}.png") as png:
            assert png.mode == "L" and png.size == (32, 32)
            pixels = np.asarray(png)
        assert np.array_equal(pixels, np.round(images[k, 0] * 255).astype(np.uint8))
