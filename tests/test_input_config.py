"""Preprocessing that is stated (sidecar, safetensors metadata, pretrained_cfg, entered) or assumed."""

import json

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file
from torch import nn

from gaia_core.data.input_config import (
    MAX_HEADER_BYTES,
    InputConfig,
    InputConfigError,
    config_transform,
    describe,
    entered,
    input_config_of,
    read_input_config,
    read_safetensors_metadata,
    with_input_config,
)
from gaia_core.errors import GaiaError
from gaia_core.models import get_spec

CIFAR = {"mean": [0.4914, 0.4822, 0.4465], "std": [0.2023, 0.1994, 0.2010]}


def _config(**changes) -> InputConfig:
    values = dict(
        input_size=32,
        resize_size=32,
        crop="resize",
        mean=(0.5, 0.5, 0.5),
        std=(0.25, 0.25, 0.25),
        channels=3,
        interpolation="bilinear",
        source="entered by you",
        stated=True,
    )
    return InputConfig(**{**values, **changes})


def _checkpoint(path, metadata=None):
    save_file({"fc.weight": torch.zeros(10, 4)}, str(path), metadata=metadata)
    return path


def test_sidecar_next_to_the_checkpoint_is_read_with_its_name_as_the_source(tmp_path):
    checkpoint = _checkpoint(tmp_path / "r18.safetensors")
    (tmp_path / "r18.json").write_text(json.dumps({"input_size": 32, "crop": "resize", **CIFAR, "classes": ["a"]}))
    config = read_input_config(checkpoint)
    assert config.source == "sidecar r18.json" and config.stated
    assert (config.input_size, config.resize_size, config.channels) == (32, 32, 3)
    assert config.mean == (0.4914, 0.4822, 0.4465)


def test_sidecar_wins_over_the_safetensors_metadata(tmp_path):
    metadata = {"input_size": "64", "mean": "[0.1, 0.1, 0.1]", "std": "[0.3, 0.3, 0.3]"}
    checkpoint = _checkpoint(tmp_path / "m.safetensors", metadata)
    (tmp_path / "m.json").write_text(json.dumps({"input_size": 32, **CIFAR}))
    assert read_input_config(checkpoint).input_size == 32


def test_safetensors_metadata_values_are_json_decoded_and_bare_strings_accepted(tmp_path):
    metadata = {
        "input_size": "48",
        "resize_size": "56",
        "mean": "[0.1, 0.2, 0.3]",
        "std": "[0.3, 0.3, 0.3]",
        "interpolation": "bicubic",
        "crop": '"resize"',
        "author": "someone",
    }
    config = read_input_config(_checkpoint(tmp_path / "m.safetensors", metadata))
    assert config.source == "checkpoint metadata"
    assert (config.input_size, config.resize_size, config.interpolation) == (48, 56, "bicubic")
    assert config.mean == (0.1, 0.2, 0.3) and config.crop == "resize"


def test_a_sidecar_without_preprocessing_keys_states_nothing(tmp_path):
    checkpoint = _checkpoint(tmp_path / "demo_resnet.safetensors")
    (tmp_path / "demo_resnet.json").write_text(json.dumps({"test_accuracy": 0.99, "epochs": 15}))
    assert read_input_config(checkpoint) is None


def test_a_sidecar_with_some_preprocessing_but_no_std_is_refused_by_name(tmp_path):
    checkpoint = _checkpoint(tmp_path / "m.safetensors")
    (tmp_path / "m.json").write_text(json.dumps({"input_size": 32, "mean": [0.5, 0.5, 0.5]}))
    with pytest.raises(InputConfigError, match=r"sidecar m\.json .*lacks std"):
        read_input_config(checkpoint)


def test_a_sidecar_that_is_not_json_is_a_gaia_error(tmp_path):
    checkpoint = _checkpoint(tmp_path / "m.safetensors")
    (tmp_path / "m.json").write_text("{not json")
    with pytest.raises(GaiaError, match="not readable JSON"):
        read_input_config(checkpoint)


def test_a_safetensors_header_over_100_mb_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "huge.safetensors"
    path.write_bytes((MAX_HEADER_BYTES + 1).to_bytes(8, "little") + b'{"__metadata__": {}}')
    with pytest.raises(InputConfigError, match="over the 100 MB"):
        read_safetensors_metadata(path)


def test_a_torch_checkpoint_has_no_metadata(tmp_path):
    path = tmp_path / "m.pt"
    torch.save({"fc.weight": torch.zeros(2, 2)}, path)
    assert read_safetensors_metadata(path) is None
    assert read_input_config(path) is None


def test_a_timm_style_pretrained_cfg_on_the_model_is_read_last():
    model = nn.Linear(2, 2)
    model.pretrained_cfg = {
        "input_size": (3, 224, 224),
        "crop_pct": 0.95,
        "crop_mode": "center",
        "interpolation": "bicubic",
        "mean": (0.5, 0.5, 0.5),
        "std": (0.5, 0.5, 0.5),
    }
    config = read_input_config(None, model)
    assert config.source == "timm pretrained_cfg" and config.stated
    assert (config.input_size, config.resize_size, config.crop) == (224, 235, "resize")  # floor(224 / 0.95)
    model.pretrained_cfg = {**model.pretrained_cfg, "crop_mode": "squash"}
    assert read_input_config(None, model).crop == "squash"
    assert read_input_config(None, nn.Linear(2, 2)) is None


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"input_size": 0, "resize_size": 0}, "between 1 and 4096"),
        ({"input_size": 5000, "resize_size": 5000}, "between 1 and 4096"),
        ({"std": (0.2, 0.0, 0.2)}, "std must be above 0"),
        ({"mean": (0.5, 0.5)}, "need 3 mean and std values"),
        ({"channels": 1}, "need 1 mean and std values"),
        ({"channels": 2, "mean": (0.5,) * 2, "std": (0.2,) * 2}, "1 \\(grey\\) or 3 \\(RGB\\)"),
        ({"mean": (123.7, 116.3, 103.5)}, "divide them by 255"),
        ({"crop": "random"}, "crop must be one of"),
        ({"resize_size": 28}, "smaller than input_size"),
        ({"interpolation": "cubic"}, "interpolation must be one of"),
        ({"input_size": 32.5}, "whole number"),
        ({"source": "assumed: ImageNet's", "stated": True}, "not stated"),
    ],
)
def test_nonsense_preprocessing_is_refused_with_a_gaia_error(changes, message):
    with pytest.raises(InputConfigError, match=message):
        _config(**changes)


def test_json_round_trip_keeps_every_field():
    config = _config(crop="squash", interpolation="bicubic", source="sidecar r18.json")
    assert InputConfig.from_json(config.to_json()) == config
    with pytest.raises(InputConfigError, match="lacks"):
        InputConfig.from_json('{"input_size": 32}')


def test_a_preset_with_its_own_weights_is_stated_and_someone_elses_checkpoint_assumed():
    demo = input_config_of(get_spec("demo"))
    assert demo.source == "preset demo" and demo.stated and demo.channels == 1
    theirs = input_config_of(get_spec("resnet18"), own_weights=False)
    assert theirs.source == "assumed: ImageNet's" and not theirs.stated
    assert (theirs.input_size, theirs.resize_size) == (224, 256)


def test_with_input_config_replaces_the_input_fields_and_leaves_the_registry_alone():
    spec = get_spec("resnet18")
    config = entered(32, CIFAR["mean"], CIFAR["std"], resize_size=36)
    changed = with_input_config(spec, config)
    assert (changed.input_size, changed.resize_size, changed.mean, changed.in_channels) == (
        32,
        36,
        tuple(CIFAR["mean"]),
        3,
    )
    assert changed.name == "resnet18" and get_spec("resnet18").input_size == 224


def test_describe_says_size_crop_numbers_colour_and_where_it_came_from():
    config = _config(mean=tuple(CIFAR["mean"]), std=tuple(CIFAR["std"]), source="sidecar r18.json")
    assert describe(config) == (
        "32×32, shorter side to 32 then centre crop, mean (0.4914, 0.4822, 0.4465) "
        "std (0.2023, 0.1994, 0.201), RGB — stated in sidecar r18.json"
    )
    assumed = input_config_of(get_spec("resnet18"), own_weights=False)
    assert describe(assumed).endswith("RGB — assumed: ImageNet's")
    assert describe(assumed).startswith("224×224, shorter side to 256 then centre crop")
    grey = _config(channels=1, mean=(0.3,), std=(0.3,), crop="center")
    assert (
        describe(grey)
        == "32×32, centre crop at full resolution (no resize), mean (0.3) std (0.3), grey — entered by you"
    )
    assert "stated by preset demo" in describe(input_config_of(get_spec("demo")))


def _quarter_white(width: int = 64, height: int = 32) -> Image.Image:
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[:, : width // 4] = 255
    return Image.fromarray(pixels)


def test_the_transform_follows_the_crop_rule():
    plain = dict(mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
    squashed = config_transform(_config(crop="squash", **plain))(_quarter_white())
    cropped = config_transform(_config(crop="resize", **plain))(_quarter_white())
    assert squashed.shape == cropped.shape == (3, 32, 32)
    assert squashed[0, 16, :6].min() > 0.99 and squashed[0, 16, 10:].max() < 0.01  # the white quarter kept
    assert cropped.max() < 0.01  # the middle half of the image has no white
    centre = config_transform(_config(crop="center", **plain))(_quarter_white(128, 128))
    assert centre.shape == (3, 32, 32) and centre.max() < 0.01  # no resize: the centre is black


def test_the_transform_normalizes_and_matches_the_channel_count():
    grey = Image.new("RGB", (40, 40), (51, 51, 51))
    x = config_transform(_config(channels=1, mean=(0.1,), std=(0.5,)))(grey)
    assert x.shape == (1, 32, 32)
    assert torch.allclose(x, torch.full_like(x, (0.2 - 0.1) / 0.5), atol=1e-5)
