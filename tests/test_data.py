"""Datasets, transforms and presets on small fixtures built in tmp_path."""

import hashlib
import io
import pickle

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from gaia_core.data import (
    PRESETS,
    SOURCES,
    ArrayDataset,
    DataError,
    DatasetNotFound,
    EmptyDatasetError,
    UnreadableSample,
    UploadedImages,
    array_transform,
    check_preset_fits,
    default_fit_set,
    demo_dataset,
    evenly_spaced,
    get_preset,
    image_folder,
    image_list,
    image_transform,
    open_source,
    resolve_dataset,
)
from gaia_core.demo.data import DEMO_MEAN, DEMO_STD, load_demo_set, normalize
from gaia_core.models import get_spec

DEMO = get_spec("demo")
CIFAR = get_spec("cifar_resnet18")


def pil_loader(data: bytes, name: str) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def png_bytes(value: int, size=(8, 8), mode="L") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, value if mode == "L" else (value, value, value)).save(buffer, format="PNG")
    return buffer.getvalue()


def write(path, data: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# --- demo sets -------------------------------------------------------------------------------


def test_demo_sets_are_deterministic_and_normalized_like_the_demo():
    first, second = demo_dataset("letters"), demo_dataset("letters")
    assert first.fingerprint() == second.fingerprint()
    images, _ = load_demo_set("letters")
    x = torch.stack([first[i].image for i in range(len(first))])
    assert torch.equal(x, normalize(images))
    assert torch.equal(x, torch.stack([second[i].image for i in range(len(second))]))


def test_demo_sets_carry_digit_labels_for_id_and_minus_one_for_ood():
    digits, noise = demo_dataset("digits"), demo_dataset("noise")
    assert set(digits.labels()) == set(range(10))
    assert set(noise.labels()) == {-1}
    sample = noise[3]
    assert (sample.label, sample.sample_id, sample.path) == (-1, "noise:3", "")
    assert len({digits[i].sample_id for i in range(len(digits))}) == len(digits)


def test_demo_train_split_is_a_different_set():
    train = demo_dataset("digits", "train")
    assert train.name == "digits-train"
    assert train.fingerprint() != demo_dataset("digits").fingerprint()


# --- transforms ------------------------------------------------------------------------------


def test_cifar_transform_makes_rgb_32x32_with_cifar_statistics():
    gray = Image.new("L", (64, 48), 128)
    x = image_transform(CIFAR)(gray)
    assert x.shape == (3, 32, 32)
    expected = (128 / 255 - torch.tensor(CIFAR.mean)) / torch.tensor(CIFAR.std)
    assert torch.allclose(x[:, 16, 16], expected, atol=1e-6)


def test_demo_transform_turns_colour_files_into_one_normalized_channel():
    colour = Image.new("RGB", (40, 40), (255, 255, 255))
    x = image_transform(DEMO)(colour)
    assert x.shape == (1, 32, 32)
    assert torch.allclose(x, torch.full_like(x, (1 - DEMO_MEAN) / DEMO_STD), atol=1e-5)


def test_imagenet_transform_is_the_torchvision_weights_transform():
    spec = get_spec("resnet18")
    image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (260, 300, 3), dtype=np.uint8))
    expected = torchvision.models.get_model_weights("resnet18").DEFAULT.transforms()(image)
    assert torch.equal(image_transform(spec)(image), expected)
    assert image_transform(spec)(image.convert("L")).shape == (3, 224, 224)


def test_array_transform_repeats_grey_channels_for_rgb_models():
    x = array_transform(CIFAR)(torch.full((1, 32, 32), 0.5))
    assert x.shape == (3, 32, 32)
    assert torch.allclose(x[:, 0, 0], (0.5 - torch.tensor(CIFAR.mean)) / torch.tensor(CIFAR.std))


# --- torchvision's on-disk CIFAR layout ------------------------------------------------------


@pytest.fixture
def tiny_cifar10(tmp_path, monkeypatch):
    """A 6-image CIFAR-10 test batch and a 4-image training batch in torchvision's layout; the
    md5 lists are set to match them."""
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (6, 3 * 32 * 32), dtype=np.uint8)
    labels = [3, 1, 4, 1, 5, 9]
    files = {
        "data_batch_1": {"data": rng.integers(0, 256, (4, 3 * 32 * 32), dtype=np.uint8), "labels": [2, 7, 1, 8]},
        "test_batch": {"data": pixels, "labels": labels},
        "batches.meta": {"label_names": [f"class{i}" for i in range(10)]},
    }
    md5 = {}
    for name, content in files.items():
        (folder / name).write_bytes(pickle.dumps(content))
        md5[name] = hashlib.md5((folder / name).read_bytes()).hexdigest()
    cls = torchvision.datasets.CIFAR10
    monkeypatch.setattr(cls, "train_list", [["data_batch_1", md5["data_batch_1"]]])
    monkeypatch.setattr(cls, "test_list", [["test_batch", md5["test_batch"]]])
    monkeypatch.setattr(cls, "meta", {**cls.meta, "md5": md5["batches.meta"]})
    return tmp_path, pixels.reshape(6, 3, 32, 32), labels


def test_cifar10_reads_torchvisions_layout_with_labels(tiny_cifar10):
    root, pixels, labels = tiny_cifar10
    dataset = open_source("cifar10", root, image_transform(CIFAR))
    assert len(dataset) == 6 and dataset.title == "CIFAR-10"
    assert list(dataset.labels()) == labels
    sample = dataset[2]
    expected = (torch.from_numpy(pixels[2]).float() / 255 - torch.tensor(CIFAR.mean)[:, None, None]) / torch.tensor(
        CIFAR.std
    )[:, None, None]
    assert torch.allclose(sample.image, expected, atol=1e-6)
    assert (sample.label, sample.sample_id) == (4, "cifar10:2")


def test_the_training_split_is_the_default_fit_set_where_one_is_known(tiny_cifar10):
    root, _, _ = tiny_cifar10
    assert default_fit_set("cifar10") == "cifar10-train"
    assert default_fit_set("digits") == "digits-train"
    assert default_fit_set("imagenet") == "imagenet"  # no train split expected on disk
    train = resolve_dataset(default_fit_set("cifar10"), CIFAR, data_root=root)
    assert len(train) == 4 and list(train.labels()) == [2, 7, 1, 8]
    assert train.fingerprint() != open_source("cifar10", root, image_transform(CIFAR)).fingerprint()


def test_missing_cifar_says_where_to_put_it_and_how_to_download(tmp_path):
    with pytest.raises(DatasetNotFound) as info:
        open_source("cifar10", tmp_path, image_transform(CIFAR))
    message = str(info.value)
    assert f"{tmp_path}/cifar-10-batches-py" in message
    assert "--download" in message and "cifar-10-python.tar.gz" in message


def test_missing_manual_dataset_says_where_to_get_it(tmp_path):
    with pytest.raises(DatasetNotFound) as info:
        open_source("inaturalist", tmp_path, image_transform(CIFAR))
    message = str(info.value)
    assert f"{tmp_path}/iNaturalist" in message and "large_scale_ood" in message and "--download" not in message


def test_missing_data_root_is_named_in_the_message(tmp_path):
    with pytest.raises(DatasetNotFound, match="does not exist"):
        open_source("svhn", tmp_path / "nowhere", image_transform(CIFAR))


# --- image folders, image lists, uploads -----------------------------------------------------


def test_image_folder_takes_labels_from_subfolders_and_flags_corrupt_files(tmp_path):
    write(tmp_path / "cat" / "a.png", png_bytes(10))
    write(tmp_path / "cat" / "b.png", png_bytes(20))
    write(tmp_path / "dog" / "broken.png", b"not a png at all")
    write(tmp_path / "dog" / "c.png", png_bytes(30))
    write(tmp_path / "dog" / "notes.txt", b"ignored")
    dataset = image_folder(tmp_path, image_transform(DEMO), loader=pil_loader)
    assert dataset.files == ["cat/a.png", "cat/b.png", "dog/broken.png", "dog/c.png"]
    assert dataset.classes == ["cat", "dog"] and list(dataset.labels()) == [0, 0, 1, 1]
    sample = dataset[3]
    assert (sample.label, sample.sample_id, sample.path) == (1, "dog/c.png", str(tmp_path / "dog" / "c.png"))
    assert torch.allclose(sample.image, torch.full((1, 32, 32), (30 / 255 - DEMO_MEAN) / DEMO_STD), atol=1e-5)
    with pytest.raises(UnreadableSample) as info:
        dataset[2]
    assert info.value.path == str(tmp_path / "dog" / "broken.png")


def test_image_folder_with_loose_files_is_unlabeled(tmp_path):
    write(tmp_path / "x.png", png_bytes(1))
    write(tmp_path / "sub" / "y.png", png_bytes(2))
    dataset = image_folder(tmp_path, image_transform(DEMO), loader=pil_loader)
    assert list(dataset.labels()) == [-1, -1]


def test_empty_or_missing_folder_gives_a_clear_error(tmp_path):
    with pytest.raises(EmptyDatasetError, match="empty"):
        image_folder(tmp_path, image_transform(DEMO), loader=pil_loader)
    with pytest.raises(DatasetNotFound, match="not found"):
        image_folder(tmp_path / "missing", image_transform(DEMO), loader=pil_loader)


def test_folder_fingerprint_changes_when_a_file_changes(tmp_path):
    path = write(tmp_path / "a.png", png_bytes(1))
    before = image_folder(tmp_path, image_transform(DEMO), loader=pil_loader).fingerprint()
    assert image_folder(tmp_path, image_transform(DEMO), loader=pil_loader).fingerprint() == before
    path.write_bytes(png_bytes(2, size=(9, 9)))
    assert image_folder(tmp_path, image_transform(DEMO), loader=pil_loader).fingerprint() != before
    assert image_folder(tmp_path, image_transform(CIFAR), loader=pil_loader).fingerprint() != before


@pytest.fixture
def openood_root(tmp_path):
    """OpenOOD v1.5's data/ layout with a 2-image ID list and a 3-image OOD list (one missing)."""
    data = tmp_path / "openood" / "data"
    lists = data / "benchmark_imglist" / "cifar10"
    images = data / "images_classic"
    write(images / "cifar10" / "test" / "0.png", png_bytes(5, (32, 32), "RGB"))
    write(images / "cifar10" / "test" / "1.png", png_bytes(6, (32, 32), "RGB"))
    write(images / "svhn" / "test" / "0.png", png_bytes(7, (32, 32), "RGB"))
    write(images / "svhn" / "test" / "1.png", png_bytes(8, (32, 32), "RGB"))
    write(lists / "test_cifar10.txt", b"cifar10/test/0.png 3\ncifar10/test/1.png 7\n")
    write(lists / "test_svhn.txt", b"svhn/test/0.png 0\nsvhn/test/1.png 0\n\nsvhn/test/gone.png 0\n")
    return data


def test_openood_image_list_reads_listed_images_under_the_data_root(openood_root):
    svhn = open_source("openood:cifar10/svhn", openood_root, image_transform(CIFAR), loader=pil_loader)
    assert (svhn.name, svhn.title, len(svhn)) == ("svhn", "SVHN", 3)
    assert list(svhn.labels()) == [-1, -1, -1]
    assert svhn[1].sample_id == "svhn/test/1.png" and svhn[1].image.shape == (3, 32, 32)
    with pytest.raises(UnreadableSample, match="cannot read"):
        svhn[2]
    cifar = open_source("openood:cifar10/cifar10", openood_root.parent, image_transform(CIFAR), loader=pil_loader)
    assert list(cifar.labels()) == [3, 7]


def test_openood_fingerprint_follows_the_list_file(openood_root):
    transform = image_transform(CIFAR)
    before = open_source("openood:cifar10/svhn", openood_root, transform, loader=pil_loader).fingerprint()
    (openood_root / "benchmark_imglist" / "cifar10" / "test_svhn.txt").write_text("svhn/test/0.png 0\n")
    after = open_source("openood:cifar10/svhn", openood_root, transform, loader=pil_loader)
    assert len(after) == 1 and after.fingerprint() != before


def test_missing_openood_list_explains_the_layout(tmp_path):
    with pytest.raises(DatasetNotFound) as info:
        open_source("openood:cifar10/tin", tmp_path, image_transform(CIFAR))
    assert "benchmark_imglist/cifar10/test_tin.txt" in str(info.value) and "OpenOOD" in str(info.value)


def test_plain_image_list_paths_are_relative_to_the_data_root(tmp_path):
    write(tmp_path / "imgs" / "a.png", png_bytes(1))
    listing = write(tmp_path / "mine.txt", b"imgs/a.png 2\n")
    dataset = image_list(listing, tmp_path, image_transform(DEMO), loader=pil_loader)
    assert (len(dataset), dataset.name, int(dataset.labels()[0])) == (1, "mine", 2)


def test_uploaded_images_get_unique_ids_and_flag_corrupt_bytes():
    files = [("a.png", png_bytes(1)), ("a.png", png_bytes(2)), ("bad.png", b"\x89PNG broken")]
    uploads = UploadedImages(files, image_transform(DEMO), loader=pil_loader)
    assert [uploads[i].sample_id for i in range(2)] == ["a.png", "a.png#2"]
    assert uploads[0].image.shape == (1, 32, 32)
    with pytest.raises(UnreadableSample) as info:
        uploads[2]
    assert info.value.sample_id == "bad.png"
    changed = UploadedImages([files[0], ("a.png", png_bytes(3))], image_transform(DEMO), loader=pil_loader)
    assert changed.fingerprint() != UploadedImages(files[:2], image_transform(DEMO), loader=pil_loader).fingerprint()


def test_dtd_reads_every_dtd_image_in_torchvisions_layout(tmp_path):
    write(tmp_path / "dtd" / "dtd" / "images" / "banded" / "banded_0001.jpg", png_bytes(1))
    write(tmp_path / "dtd" / "dtd" / "images" / "zigzagged" / "zigzagged_0001.jpg", png_bytes(2))
    textures = open_source("dtd", tmp_path, image_transform(CIFAR), loader=pil_loader)
    assert (len(textures), textures.title, list(textures.labels())) == (2, "Describable Textures (DTD)", [-1, -1])


def test_default_loader_is_the_projects_safe_decoder(tmp_path):
    write(tmp_path / "a.png", png_bytes(1))
    write(tmp_path / "b.png", b"garbage")
    dataset = image_folder(tmp_path, image_transform(DEMO))
    assert dataset[0].image.shape == (1, 32, 32)
    with pytest.raises(UnreadableSample, match="not an image in a supported format"):  # the safety decoder's words
        dataset[1]


# --- resolving names, presets ----------------------------------------------------------------


def test_the_demo_textures_and_dtd_are_two_names(tmp_path):
    assert isinstance(resolve_dataset("textures", DEMO, data_root=tmp_path), ArrayDataset)
    assert isinstance(resolve_dataset("textures", CIFAR, data_root=tmp_path), ArrayDataset)  # ships with the package
    with pytest.raises(DatasetNotFound, match="dtd"):
        resolve_dataset("dtd", CIFAR, data_root=tmp_path)
    digits_for_cifar = resolve_dataset("digits", CIFAR, data_root=tmp_path)
    assert digits_for_cifar[0].image.shape == (3, 32, 32)


def test_resolve_accepts_folders_relative_to_the_data_root(tmp_path, monkeypatch):
    monkeypatch.setattr("gaia_core.data.files.safe_image_loader", pil_loader)
    write(tmp_path / "mine" / "a.png", png_bytes(1))
    dataset = resolve_dataset("mine", DEMO, data_root=tmp_path)
    assert (dataset.name, len(dataset)) == ("mine", 1)
    with pytest.raises(DatasetNotFound, match="no dataset 'nope'"):
        resolve_dataset("nope", DEMO, data_root=tmp_path)


def test_presets_name_the_papers_benchmarks():
    assert PRESETS["cifar10"].ood_sets == ("svhn", "lsun", "tinyimagenet", "places", "dtd")
    assert PRESETS["cifar100"].num_classes == 100
    assert PRESETS["imagenet"].ood_sets == ("inaturalist", "sun", "places", "dtd")
    openood = PRESETS["openood-cifar10"]
    assert openood.groups["near"] == ["openood:cifar10/cifar100", "openood:cifar10/tin"]
    assert len(openood.groups["far"]) == 4
    assert set(PRESETS["openood-imagenet"].groups) == {"near", "far"}
    assert all(name in SOURCES for p in ("cifar10", "imagenet") for name in PRESETS[p].ood_sets)


def test_preset_for_another_model_family_is_refused():
    check_preset_fits(get_preset("cifar10"), CIFAR)
    with pytest.raises(DataError, match="cifar models"):
        check_preset_fits(get_preset("cifar10"), get_spec("resnet50"))
    with pytest.raises(DataError, match="unknown benchmark"):
        get_preset("mnist")


def test_evenly_spaced_subset_keeps_ends_and_is_fingerprinted():
    digits = demo_dataset("digits")
    subset = evenly_spaced(digits, 5)
    assert list(subset.indices) == [0, 112, 224, 337, 449]
    assert subset[1].sample_id == "digits:112"
    assert subset.fingerprint() != digits.fingerprint()
    assert evenly_spaced(digits, 10_000) is digits
