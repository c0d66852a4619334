"""One decision per (model, benchmark, set): the same tensors through every entry point."""

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file
from torchvision import transforms as T

from gaia_core.data import preprocessing
from gaia_core.data.preprocessing import crop_rule, input_transform
from gaia_core.models import get_spec
from gaia_core.models.normalization import CIFAR100_MEAN, CIFAR100_STD


def _scene(width: int, height: int, seed: int = 0) -> Image.Image:
    """A structured picture (smooth ramps plus detail), so crops and resizes differ."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    base = np.stack([xx / width, yy / height, (xx + yy) / (width + height)], axis=-1) * 200
    return Image.fromarray((base + rng.uniform(0, 55, base.shape)).astype(np.uint8))


class _Stop(Exception):
    pass


_RESOLVE = preprocessing.resolve_dataset


@pytest.fixture
def lsun_root(tmp_path, monkeypatch):
    folder = tmp_path / "data" / "LSUN"
    folder.mkdir(parents=True)
    for i in range(3):
        _scene(96, 72, seed=i).save(folder / f"{i}.png")
    monkeypatch.setenv("GAIA_ALLOWED_ROOTS", str(tmp_path))
    return tmp_path / "data"


def _recording(monkeypatch, stop: bool):
    """Wrap the one loader every entry point reaches: record the LSUN set each one builds."""
    seen = []

    def record(name, spec, **options):
        dataset = _RESOLVE("lsun", spec, **options)  # every other set is stood in for by the LSUN folder
        if name == "lsun":
            seen.append(dataset)
            if stop:
                raise _Stop
        return dataset

    monkeypatch.setattr(preprocessing, "resolve_dataset", record)
    return seen


def test_a_paper_cifar100_set_gives_the_same_tensors_through_every_entry_point(lsun_root, tmp_path, monkeypatch):
    from app_pages.shell import scoring_jobs
    from gaia_core.cli import main
    from gaia_core.evaluation.paper import PAPER_SETTINGS, missing_files

    spec = get_spec("cifar_resnet18")
    checkpoint = tmp_path / "r18.safetensors"
    save_file({k: v.contiguous() for k, v in spec.builder(100).state_dict().items()}, checkpoint)
    common = ["--model", "cifar_resnet18", "--checkpoint", str(checkpoint), "--benchmark", "cifar100"]
    common += ["--data-root", str(lsun_root), "--limit", "2", "--no-cache", "--no-progress"]
    tensors = {}
    for command in (["evaluate", *common, "--methods", "msp"], ["layers", *common]):
        seen = _recording(monkeypatch, stop=True)
        with pytest.raises(_Stop):
            main(command)
        tensors[command[0]] = seen[-1][0].image
    seen = _recording(monkeypatch, stop=False)
    missing_files(PAPER_SETTINGS["cifar100"], lsun_root, tmp_path)
    tensors["evaluate --paper"] = seen[-1][0].image
    seen = _recording(monkeypatch, stop=False)
    scoring_jobs._dataset.clear()
    tensors["app"] = scoring_jobs._dataset("cifar_resnet18", "lsun", str(lsun_root), 4, "cifar100")[0].image

    # The authors': a 32x32 centre crop at full resolution, CIFAR-100's mean and std.
    expected = T.Compose([T.CenterCrop(32), T.ToTensor(), T.Normalize(CIFAR100_MEAN, CIFAR100_STD)])(
        Image.open(lsun_root / "LSUN" / "0.png").convert("RGB")
    )
    for where, tensor in tensors.items():
        assert torch.equal(tensor, expected), where


def test_the_crop_rule_follows_the_set_and_the_normalization_the_benchmark():
    cifar, resnet = get_spec("cifar_resnet34"), get_spec("resnet18")
    for set_key in ("svhn", "lsun", "tinyimagenet", "places", "dtd", "cifar10"):
        assert crop_rule(cifar, set_key) == "center"
    assert crop_rule(cifar, "my_folder") == crop_rule(cifar, "upload") == "resize"
    assert crop_rule(cifar, "openood:cifar10/texture") == "resize"
    assert crop_rule(resnet, "dtd") == "resize"
    for benchmark in ("cifar100", "openood-cifar100"):
        decided = input_transform(cifar, benchmark, "svhn")
        assert (decided.spec.mean, decided.spec.std) == (CIFAR100_MEAN, CIFAR100_STD)
    assert input_transform(cifar, "cifar10").spec == cifar == input_transform(cifar, "").spec
    # The app's uploads and What if? get the ID set's normalization too, with the resize rule.
    upload = input_transform(cifar, "cifar100")
    assert upload.crop == "resize" and upload.array()(torch.full((3, 32, 32), 0.5))[0, 0, 0] == pytest.approx(
        (0.5 - CIFAR100_MEAN[0]) / CIFAR100_STD[0], abs=1e-6
    )


def test_bit_input_is_squashed_to_480_by_480_as_the_authors():
    spec = get_spec("bit_s_r101x1")
    photo = _scene(500, 375)
    ours = input_transform(spec, "imagenet", "sun").image()(photo)
    theirs = T.Compose([T.Resize((480, 480)), T.ToTensor(), T.Normalize([0.5] * 3, [0.5] * 3)])(photo)
    assert ours.shape == (3, 480, 480) and torch.equal(ours, theirs)
    cropped = T.Compose([T.Resize(480), T.CenterCrop(480), T.ToTensor(), T.Normalize([0.5] * 3, [0.5] * 3)])(photo)
    assert float((ours - cropped).abs().mean()) > 0.05  # shorter side + centre crop is another input
