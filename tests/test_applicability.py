"""Applicability: GAIA-Z needs exact zeros; told plainly when a model has none."""

import pytest
import timm
import torch
from conftest import randomize_norm_stats
from torch import nn

from gaia_core.scores import create
from gaia_core.scores.applicability import check_applicability


class _Named(nn.Module):
    def __init__(self, act):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), act())
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        return self.fc(self.features(x).mean(dim=(2, 3)))


def test_silu_model_is_reported_uninformative_for_gaia_z_and_its_scores_are_all_one():
    model = randomize_norm_stats(_Named(nn.SiLU)).eval()
    x = torch.randn(3, 3, 8, 8)
    report = check_applicability(model, x)
    assert not report.gaia_z_informative and report.zero_fraction == 0.0
    assert "this model uses SiLU: every channel's ratio is 1" in report.note
    assert torch.equal(create("gaia_z")(model, x).score, torch.ones(3))


def test_relu_model_is_informative_and_has_no_note():
    model = randomize_norm_stats(_Named(nn.ReLU)).eval()
    report = check_applicability(model, torch.randn(3, 3, 8, 8))
    assert report.gaia_z_informative and report.gaia_a_informative and report.zero_fraction > 0
    assert report.note == ""


def test_timm_efficientnet_names_its_smooth_activation():
    model = timm.create_model("efficientnet_b0", pretrained=False, num_classes=5).eval()
    report = check_applicability(model, torch.randn(2, 3, 32, 32))
    assert not report.gaia_z_informative
    assert "SiLU" in report.gaia_z_reason


def test_report_is_frozen():
    report = check_applicability(randomize_norm_stats(_Named(nn.ReLU)).eval(), torch.randn(1, 3, 8, 8))
    with pytest.raises(AttributeError):
        report.zero_fraction = 1.0


def test_cli_prints_one_note_line_under_the_table_for_a_silu_model(capsys):
    from gaia_core.cli.evaluate import print_applicability_note
    from gaia_core.data.base import Sample

    images = [Sample(torch.randn(3, 8, 8), 0, str(i), "") for i in range(5)]
    for act, expected in ((nn.SiLU, 1), (nn.ReLU, 0)):
        model = randomize_norm_stats(_Named(act)).eval()
        print_applicability_note(model, images, [create("gaia_z"), create("msp")])
        lines = capsys.readouterr().out.splitlines()
        assert len(lines) == expected and all(line.startswith("note: GAIA-Z needs the exact zeros") for line in lines)


@pytest.mark.parametrize(("name", "informative"), [("timm:resnet18", True), ("timm:convnext_atto", False)])
def test_sweep_row_tells_whether_gaia_z_is_informative(name, informative):
    from gaia_core.bench.model_sweep import markdown, sweep_row

    row = sweep_row(name, size=32, images=3)
    assert row.gaia_z_informative is informative and (row.gaia_z_std > 0) is informative
    assert row.gaia_a_informative and name in markdown([row])
