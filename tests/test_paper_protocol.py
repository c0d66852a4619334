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


def _result(methods, ood):
    """A benchmark result of hand-picked scores: the ID set scores 0..9 with every method."""
    from gaia_core.evaluation.metrics import ood_metrics

    class Scores:
        def __init__(self, values):
            self.values = values

        def scores(self, method):
            return self.values

    id_scores = Scores(np.arange(10.0))
    metrics = {m: {title: ood_metrics(id_scores.values, values) for title, values in ood.items()} for m in methods}
    return SimpleNamespace(
        methods=methods,
        id_scores=id_scores,
        ood_scores={title: Scores(values) for title, values in ood.items()},
        groups={},
        metrics=metrics,
    )


def test_published_figures_are_looked_up_by_benchmark_set_and_metric():
    from gaia_core.evaluation.published import AVERAGE, PUBLISHED, SOURCE, published_figure

    assert published_figure("imagenet", "sun", "fpr95") == 31.24
    assert published_figure("imagenet", "dtd", "fpr95") == 11.32
    assert published_figure("imagenet", AVERAGE, "fpr95") == 37.42
    assert published_figure("cifar100", AVERAGE, "fpr95") == 29.1
    assert published_figure("imagenet", "inaturalist", "fpr95") is None  # not in the listing, not derived
    assert (
        published_figure("imagenet", "sun", "auroc") is None and published_figure("cifar10", AVERAGE, "fpr95") is None
    )
    assert published_figure("MVTec Metal Nut", "dissimilar", "auroc") == 45.57
    benchmarks = {f.benchmark for f in PUBLISHED}
    assert {"imagenet", "cifar100"} <= benchmarks <= {*PRESETS, "MVTec Metal Nut", "MVTec Pill", "ISIC ink artefacts"}
    assert "NeurIPS 2023" in SOURCE


def test_published_table_puts_the_figure_beside_ours_and_leaves_unlisted_sets_empty():
    from gaia_core.evaluation.authors_metrics import authors_ood_metrics
    from gaia_core.evaluation.published import published_report, published_table

    ood = {"iNaturalist": np.arange(5.0, 15.0), "SUN": np.array([8.5, 8.6, 9.0, 20.0])}
    result = _result(["gaia_z", "msp"], ood)
    table = published_table(result, "imagenet", {"iNaturalist": "inaturalist", "SUN": "sun"})
    assert list(table.columns) == ["GAIA-Z", "GAIA-Z (authors')", "published"]
    assert list(table.index) == ["iNaturalist", "SUN", "Average"]
    assert np.isnan(table.loc["iNaturalist", "published"])
    assert table.loc["SUN", "published"] == 31.24 and table.loc["Average", "published"] == 37.42
    assert table.loc["SUN", "GAIA-Z"] == pytest.approx(100 * result.metrics["gaia_z"]["SUN"]["fpr95"])
    authors = 100 * authors_ood_metrics(np.arange(10.0), ood["SUN"])["fpr95"]
    assert table.loc["SUN", "GAIA-Z (authors')"] == pytest.approx(authors)
    text = published_report(result, "imagenet", {"iNaturalist": "inaturalist", "SUN": "sun"})
    lines = text.splitlines()
    assert lines[0].startswith("GAIA beside the published figures · FPR95 (%)")
    assert lines[1].split()[-1] == "published" and lines[3].split()[0] == "iNaturalist" and len(lines[3].split()) == 3
    assert lines[4].split()[-1] == "31.24" and lines[5].split()[-1] == "37.42"


def test_paper_protocol_prints_the_published_figure_beside_ours(tmp_path, capsys, monkeypatch):
    from gaia_core.cli import main
    from gaia_core.demo import DEMO_WEIGHTS
    from gaia_core.evaluation.paper import PaperModel, PaperSetting
    from gaia_core.evaluation.published import PublishedFigure

    setting = PaperSetting("demo", (PaperModel("demo", DEMO_WEIGHTS.name, 10),))
    monkeypatch.setattr("gaia_core.cli.evaluate.PAPER_SETTINGS", {"demo": setting})
    monkeypatch.setattr(
        "gaia_core.evaluation.published.PUBLISHED", (PublishedFigure("demo", "letters", "fpr95", 12.5),)
    )
    argv = ["evaluate", "--paper", "demo", "--checkpoint-dir", str(DEMO_WEIGHTS.parent), "--methods", "gaia_a", "msp"]
    code = main([*argv, "--limit", "20", "--batch-size", "20", "--no-progress", "--no-cache"])
    out = capsys.readouterr().out
    assert code == 0 and "authors' convention" in out
    block = out[out.index("GAIA beside the published figures") :].splitlines()
    assert block[1].split() == ["GAIA-A", "GAIA-A", "(authors')", "published"]
    rows = {line.split()[0]: line.split()[1:] for line in block[3:]}
    assert list(rows) == ["letters", "natural", "textures", "noise", "shifted", "Average"]
    assert rows["letters"][-1] == "12.50" and all(len(rows[r]) == 2 for r in ("natural", "Average"))


def test_the_paper_protocols_html_report_carries_the_published_figures(tmp_path, capsys, monkeypatch):
    from gaia_core.cli import main
    from gaia_core.demo import DEMO_WEIGHTS
    from gaia_core.evaluation.paper import PaperModel, PaperSetting
    from gaia_core.evaluation.published import SOURCE, PublishedFigure

    setting = PaperSetting("demo", (PaperModel("demo", DEMO_WEIGHTS.name, 10),))
    monkeypatch.setattr("gaia_core.cli.evaluate.PAPER_SETTINGS", {"demo": setting})
    monkeypatch.setattr(
        "gaia_core.evaluation.published.PUBLISHED", (PublishedFigure("demo", "letters", "fpr95", 12.5),)
    )
    report = tmp_path / "paper.html"
    argv = ["evaluate", "--paper", "demo", "--checkpoint-dir", str(DEMO_WEIGHTS.parent), "--methods", "gaia_z"]
    assert (
        main([*argv, "--limit", "20", "--batch-size", "20", "--no-progress", "--no-cache", "--html", str(report)]) == 0
    )
    capsys.readouterr()
    text = report.read_text()
    section = text[text.index("Beside the published figures") :]
    assert SOURCE.split(",")[0] in section and "12.50" in section.split("</table>")[0]
    # An ordinary run has no published figures to set beside.
    plain = tmp_path / "plain.html"
    assert (
        main(
            [
                "evaluate",
                "--ood",
                "letters",
                "--methods",
                "gaia_z",
                "--limit",
                "20",
                "--no-progress",
                "--no-cache",
                "--html",
                str(plain),
            ]
        )
        == 0
    )
    assert "Beside the published figures" not in plain.read_text()


def _paper_models(name):
    from gaia_core.evaluation.paper import PAPER_SETTINGS

    return PAPER_SETTINGS[name].models


def test_bit_textures_switch_names_layers_of_the_projects_bit_class():
    from gaia_core.evaluation.paper import BIT_BLOCK4_NORMS, SetLayers
    from gaia_core.models.bit import bit_s_r101x1
    from gaia_core.scores.taps import get_layer

    (bit,) = _paper_models("imagenet")
    assert bit.set_layers == (SetLayers("textures", "gaia_z", (*BIT_BLOCK4_NORMS, "head.gn")),)
    model = bit_s_r101x1()
    assert list(BIT_BLOCK4_NORMS) == model.gaia_inner_layers == model.gaia_z_layers
    assert all(isinstance(get_layer(model, name), torch.nn.GroupNorm) for name in bit.set_layers[0].layers)
    assert all(not m.set_layers for s in ("cifar10", "cifar100") for m in _paper_models(s))


def test_per_set_layers_score_that_set_and_its_id_reference_with_their_own_layers():
    from gaia_core.data import demo_dataset, evenly_spaced
    from gaia_core.evaluation.authors_metrics import authors_ood_metrics
    from gaia_core.evaluation.metrics import ood_metrics
    from gaia_core.evaluation.ood_tables import evaluate_benchmark
    from gaia_core.evaluation.paper import SetLayers, authors_table, set_methods
    from gaia_core.evaluation.scoring import evaluate_dataset
    from gaia_core.models import load_model
    from gaia_core.scores import create

    model = load_model("demo", device="cpu")
    id_set, textures, letters = (evenly_spaced(demo_dataset(n), 24) for n in ("digits", "textures", "letters"))
    methods = [create("gaia_z"), create("msp")]
    switched = set_methods(methods, [SetLayers("textures", "gaia_z", ("layer2.0.bn1", "layer4.0.bn2"))])
    assert list(switched) == ["textures"] and switched["textures"][0].layers == ("layer2.0.bn1", "layer4.0.bn2")
    assert switched["textures"][1] is methods[1]
    result = evaluate_benchmark(model, id_set, [textures, letters], methods, batch_size=12, set_methods=switched)
    own = switched["textures"]
    id_own, textures_own = (evaluate_dataset(model, d, own, batch_size=12) for d in (id_set, textures))
    expected = ood_metrics(id_own.scores("gaia_z"), textures_own.scores("gaia_z"))
    assert result.metrics["gaia_z"][textures.display_name] == pytest.approx(expected)
    default_letters = ood_metrics(
        result.id_scores.scores("gaia_z"), result.ood_scores[letters.display_name].scores("gaia_z")
    )
    assert result.metrics["gaia_z"][letters.display_name] == pytest.approx(default_letters)
    assert list(result.id_scores_by_set) == [textures.display_name]
    assert result.metrics["gaia_z"][textures.display_name] != pytest.approx(
        ood_metrics(result.id_scores.scores("gaia_z"), textures_own.scores("gaia_z"))
    )
    authors = authors_table(result, "gaia_z")
    theirs = authors_ood_metrics(id_own.scores("gaia_z"), textures_own.scores("gaia_z"))
    assert authors.loc[textures.display_name, "FPR95"] == pytest.approx(100 * theirs["fpr95"])


def test_layer_setting_states_each_paper_models_own_taps():
    from gaia_core.evaluation.paper import layer_setting

    assert "every batch norm" in layer_setting("wrn40_2") and "pooled output" in layer_setting("wrn40_2")
    assert "body.block4" in layer_setting("bit_s_r101x1") and "head.gn" in layer_setting("bit_s_r101x1")
    assert "layer3 and layer4" in layer_setting("cifar_resnet34")
    assert layer_setting("resnet50").startswith("GAIA-Z: every normalization; GAIA-A: the norms of the last two stages")
