"""The paper's protocol inputs: CIFAR-100 statistics, the authors' centre-crop rule, their Places set."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from gaia_core.data import PRESETS, image_transform
from gaia_core.data.base import DataError
from gaia_core.data.sources import SOURCES
from gaia_core.models import get_spec
from gaia_core.models.normalization import CIFAR100_MEAN, CIFAR100_STD, spec_for_id_set


def test_cifar100_id_set_normalizes_with_cifar100_statistics_not_cifar10s():
    spec = get_spec("cifar_resnet34")
    for100 = spec_for_id_set(spec, "cifar100")
    assert (for100.mean, for100.std) == (CIFAR100_MEAN, CIFAR100_STD)
    assert spec_for_id_set(spec, "cifar10") == spec
    assert spec_for_id_set(get_spec("resnet18"), "cifar100") == get_spec("resnet18")
    grey = Image.new("RGB", (32, 32), (128, 128, 128))
    x10, x100 = image_transform(spec)(grey), image_transform(for100)(grey)
    expected = (128 / 255 - torch.tensor(CIFAR100_MEAN)) / torch.tensor(CIFAR100_STD)
    torch.testing.assert_close(x100[:, 0, 0], expected)
    assert not torch.allclose(x10, x100)


def _gradient_image(size: int) -> Image.Image:
    ramp = np.linspace(0, 255, size, dtype=np.float64)
    return Image.fromarray(np.stack([np.add.outer(ramp, ramp) / 2] * 3, axis=-1).astype(np.uint8))


def test_center_rule_crops_32_pixels_at_full_resolution_and_resize_rule_shrinks_first():
    spec = get_spec("cifar_resnet18")
    image = _gradient_image(128)
    centre = image_transform(spec, crop="center")(image)
    resized = image_transform(spec, crop="resize")(image)
    pixels = np.asarray(image)[48:80, 48:80].transpose(2, 0, 1) / 255.0
    expected = (torch.tensor(pixels, dtype=torch.float32) - torch.tensor(spec.mean).view(3, 1, 1)) / torch.tensor(
        spec.std
    ).view(3, 1, 1)
    torch.testing.assert_close(centre, expected)
    assert centre.shape == resized.shape == (3, 32, 32)
    assert (resized.amax() - resized.amin()) > 2 * (centre.amax() - centre.amin())


def test_unknown_crop_rule_is_refused_with_the_rules_named():
    with pytest.raises(DataError, match="resize, center"):
        image_transform(get_spec("cifar_resnet18"), crop="stretch")


def test_paper_cifar_presets_use_the_authors_crop_and_places_set():
    for name in ("cifar10", "cifar100"):
        assert PRESETS[name].crop == "center" and "places" in PRESETS[name].ood_sets
    assert PRESETS["openood-cifar10"].crop == "resize"
    assert "not Places365" in SOURCES["places"].location


def test_paper_protocol_without_its_files_names_each_missing_file_in_one_line(tmp_path, capsys):
    from gaia_core.cli import main

    code = main(
        ["evaluate", "--paper", "cifar10", "--data-root", str(tmp_path), "--checkpoint-dir", str(tmp_path / "ckpt")]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    for needed in ("ckpt/cifar10_resnet34.pth", "ckpt/cifar10_wrn40_2.pth", "Places/", "svhn", "cifar10"):
        assert needed in err


def test_authors_report_shows_each_method_in_the_authors_convention():
    import pandas as pd

    from gaia_core.evaluation.authors_metrics import authors_ood_metrics
    from gaia_core.evaluation.paper import PAPER_SETTINGS, authors_table

    class Scores:
        def __init__(self, values):
            self.values = values

        def scores(self, method):
            return self.values

    result = SimpleNamespace(
        methods=["msp"],
        id_scores=Scores(np.arange(10.0)),
        ood_scores={"A": Scores(np.array([8.5, 8.6, 9.0, 20.0])), "B": Scores(np.arange(5.0, 15.0))},
    )
    table = authors_table(result, "msp")
    # cal_metric: t = sorted ID-ness[round(0.5) = 0] = -9; OOD ID-ness strictly above it: -8.5, -8.6.
    assert table.loc["A", "FPR95"] == pytest.approx(50.0)
    expected_b = 100 * authors_ood_metrics(np.arange(10.0), np.arange(5.0, 15.0))["fpr95"]
    assert table.loc["Average", "FPR95"] == pytest.approx((50.0 + expected_b) / 2)
    assert isinstance(table, pd.DataFrame)
    assert [m.model for m in PAPER_SETTINGS["imagenet"].models] == ["bit_s_r101x1"]
