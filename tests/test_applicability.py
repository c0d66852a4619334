"""Applicability: GAIA-Z needs exact zeros; told plainly when a model has none."""

import pytest
import timm
import torch
from conftest import randomize_norm_stats
from torch import nn

from gaia_core.scores import create
from gaia_core.scores.applicability import check_applicability, percent


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


class _MaxPoolNet(nn.Module):
    """conv-BN-act, a 3x3 max pool, conv-BN-act, global pool, linear: a ResNet stem in miniature."""

    def __init__(self, act):
        super().__init__()
        self.conv1, self.bn1, self.act1 = nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), act()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.conv2, self.bn2, self.act2 = nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), act()
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        x = self.maxpool(self.act1(self.bn1(self.conv1(x))))
        return self.fc(self.act2(self.bn2(self.conv2(x))).mean(dim=(2, 3)))


def test_silu_net_whose_only_zeros_are_max_pool_routing_is_not_passed():
    model = randomize_norm_stats(_MaxPoolNet(nn.SiLU)).eval()
    x = torch.randn(4, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    report = check_applicability(model, x)
    # The max pool sends bn1's gradient to one entry per window, and which one follows the input ...
    assert report.zero_fraction > 0.5 and report.varying_layers == ("bn1",)
    # ... but no activation has a flat region: GAIA-Z's zero-deflation story does not apply.
    assert not report.gaia_z_informative and "come from elsewhere (max-pool routing" in report.gaia_z_reason
    relu = check_applicability(randomize_norm_stats(_MaxPoolNet(nn.ReLU)).eval(), x)
    assert relu.gaia_z_informative and relu.varying_layers == ("bn1", "bn2")


def test_cspdarknet_zeros_from_zero_initialised_norms_are_the_same_for_every_input_and_not_passed():
    model = timm.create_model("cspdarknet53", pretrained=False, num_classes=5).eval()
    x = torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    report = check_applicability(model, x)
    assert report.activations == ("LeakyReLU",) and report.zero_fraction > 0.1
    assert report.varying_layers == () and report.gaia_z_spread == 0.0
    assert not report.gaia_z_informative and "the same on every probe image" in report.gaia_z_reason


def test_efficientnet_zeros_from_silu_gradient_underflow_are_not_passed():
    torch.manual_seed(0)
    model = timm.create_model("efficientnet_b0", pretrained=False, num_classes=5).eval()
    x = torch.zeros(3, 3, 32, 32)  # flat and half-and-half images, far from the noise the norms expect
    x[0], x[1] = 100.0, -100.0
    x[2, :, :, :16], x[2, :, :, 16:] = 100.0, -100.0
    report = check_applicability(model, x)
    # SiLU's gradient is exactly 0 in float32 below about -88: rare zeros that do vary with the input.
    assert 0 < report.zero_fraction < 0.05 and report.varying_layers
    assert not report.gaia_z_informative and "SiLU, Sigmoid" in report.gaia_z_reason


def test_percentages_never_round_a_real_fraction_to_zero_or_to_all():
    assert [percent(f) for f in (0.0, 4e-5, 0.0062, 0.5, 0.99995, 1.0)] == [
        "0%",
        "<0.1%",
        "0.6%",
        "50.0%",
        ">99.9%",
        "100%",
    ]
    model = randomize_norm_stats(_Named(nn.ReLU)).eval()
    report = check_applicability(model, torch.randn(3, 3, 8, 8))
    assert f"{percent(report.zero_fraction)} of the tapped gradient entries" in report.gaia_z_reason


def test_sweep_row_is_the_same_on_every_run_and_leaves_the_global_rng_alone():
    from gaia_core.bench.model_sweep import sweep_row

    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    first = sweep_row("timm:resnet18", size=32, images=3)
    assert torch.equal(torch.rand(1), expected_next)
    torch.manual_seed(456)
    assert sweep_row("timm:resnet18", size=32, images=3) == first


class _ConvClassifier(nn.Module):
    """SqueezeNet's head: a 1x1 convolution to the classes on the spatial map, then the pool."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.classifier = nn.Sequential(nn.Conv2d(8, 4, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1))

    def forward(self, x):
        return self.classifier(self.features(x)).flatten(1)


def test_methods_that_cannot_apply_are_left_out_with_one_line_each_and_the_others_kept():
    from gaia_core.scores.applicability import applicable_methods

    model = randomize_norm_stats(_ConvClassifier()).eval()
    methods = [create(name) for name in ("gaia_z", "msp", "energy", "gradnorm", "react")]
    kept, notes = applicable_methods(model, methods, torch.randn(3, 3, 8, 8))
    assert [m.name for m in kept] == ["gaia_z", "msp", "energy"]
    assert len(notes) == 2 and all("\n" not in n for n in notes)
    assert notes[0].startswith("GradNorm skipped: layer 'classifier.0' is fed a 8x8x8 map")
    assert notes[1].startswith("ReAct skipped:")
    relu_kept, relu_notes = applicable_methods(
        randomize_norm_stats(_Named(nn.ReLU)).eval(), methods, torch.randn(3, 3, 8, 8)
    )
    assert [m.name for m in relu_kept] == [m.name for m in methods] and relu_notes == []
