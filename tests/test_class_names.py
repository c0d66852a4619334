"""Class names from folders, sidecars, metadata and the models' own lists; label spaces that fit."""

import json

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from gaia_core.data import ArrayDataset, evenly_spaced, image_folder
from gaia_core.data.class_names import (
    ClassNamesError,
    class_names_for,
    label_text,
    label_texts,
    labels_fit,
    sets_that_fit,
)
from gaia_core.models import get_spec


def _folder(tmp_path):
    for cls in ("dog", "cat"):
        (tmp_path / "photos" / cls).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (4, 4)).save(tmp_path / "photos" / cls / f"{i}.png")
    return image_folder(tmp_path / "photos", transform=lambda image: image)


def _checkpoint(path, metadata=None):
    save_file({"fc.weight": torch.zeros(3, 4)}, str(path), metadata=metadata)
    return path


def test_a_folder_set_is_named_by_its_sorted_sub_folders_even_through_a_subset(tmp_path):
    folder = _folder(tmp_path)
    assert class_names_for(folder) == ["cat", "dog"]
    assert class_names_for(evenly_spaced(folder, 2), spec=get_spec("resnet18")) == ["cat", "dog"]


def test_a_sidecar_lists_the_classes_of_a_checkpoint(tmp_path):
    checkpoint = _checkpoint(tmp_path / "r18.safetensors")
    (tmp_path / "r18.json").write_text(json.dumps({"classes": ["ant", "bee", "wasp"]}))
    assert class_names_for(spec=get_spec("resnet18"), num_classes=3, checkpoint_path=checkpoint) == [
        "ant",
        "bee",
        "wasp",
    ]
    with pytest.raises(ClassNamesError, match="lists 3 class names but the model has 10"):
        class_names_for(spec=get_spec("resnet18"), num_classes=10, checkpoint_path=checkpoint)


def test_the_safetensors_metadata_can_list_the_classes(tmp_path):
    checkpoint = _checkpoint(tmp_path / "m.safetensors", {"classes": json.dumps(["x", "y", "z"])})
    assert class_names_for(num_classes=3, checkpoint_path=checkpoint) == ["x", "y", "z"]


def test_imagenet_models_carry_imagenets_names_offline_and_other_widths_none():
    torchvision_names = class_names_for(spec=get_spec("resnet18"))
    timm_names = class_names_for(spec=get_spec("timm:resnet18"))
    assert len(torchvision_names) == len(timm_names) == 1000
    assert torchvision_names[207] == timm_names[207] == "golden retriever"
    assert class_names_for(spec=get_spec("resnet18"), num_classes=10) is None


def test_cifar_models_with_ten_classes_are_cifar10s_and_the_demo_has_no_names():
    assert class_names_for(spec=get_spec("cifar_resnet18"))[3] == "cat"
    assert class_names_for(spec=get_spec("cifar_resnet18"), num_classes=100) is None
    assert class_names_for(spec=get_spec("demo")) is None


def test_label_text_reads_index_and_name_or_says_unknown():
    names = ["airplane", "automobile", "bird", "cat"]
    assert label_text(3, names) == "3 · cat"
    assert label_text(-1, names) == "−"
    assert label_text(3, None) == "3"
    assert label_text(9, names) == "9"
    assert label_text(3, [str(i) for i in range(10)]) == "3"  # digits named by themselves
    assert list(label_texts(np.array([3, -1, 0, 3]), names)) == ["3 · cat", "−", "0 · airplane", "3 · cat"]


def test_labels_beyond_the_models_classes_give_a_one_line_warning():
    images = np.zeros((3, 1, 2, 2), np.float32)
    imagenet_like = ArrayDataset(images, np.array([0, 5, 999]), "imagenet", lambda x: x)
    warning = labels_fit(imagenet_like, 10)
    assert "labels up to 999 (1000 classes)" in warning and "10 classes" in warning and "\n" not in warning
    assert labels_fit(ArrayDataset(images, np.array([0, 5, 9]), "cifar10", lambda x: x), 10) is None
    assert labels_fit(ArrayDataset(images, None, "noise", lambda x: x), 10) is None


def test_a_ten_class_model_is_offered_ten_class_sets_not_imagenet():
    fitting = sets_that_fit(10)
    assert {"demo", "cifar10", "openood-cifar10"} <= set(fitting)
    assert not {"imagenet", "cifar100", "openood-imagenet"} & set(fitting)
    assert sets_that_fit(10, family="cifar") == ["cifar10", "openood-cifar10"]
    assert sets_that_fit(1000, family="imagenet") == ["imagenet", "openood-imagenet"]
