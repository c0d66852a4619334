"""The command line: tables, output files, clear one-line errors."""

import argparse
import io
import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from gaia_core.cli import build_parser, main
from gaia_core.data import DatasetNotFound

QUICK = ["--limit", "40", "--no-progress", "--batch-size", "20"]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_no_arguments_lists_the_commands(capsys):
    code, out, _ = run(capsys)
    assert code == 0
    assert all(command in out for command in ("evaluate", "datasets", "models"))


def test_evaluate_prints_a_table_per_method_with_average_and_writes_files(capsys, tmp_path):
    csv_path, json_path = tmp_path / "t.csv", tmp_path / "t.json"
    code, out, _ = run(
        capsys,
        "evaluate",
        "--model",
        "demo",
        "--id",
        "digits",
        "--ood",
        "noise",
        "letters",
        "--methods",
        "msp",
        "gaia_a",
        "--cache-dir",
        str(tmp_path / "cache"),
        "--csv",
        str(csv_path),
        "--json",
        str(json_path),
        *QUICK,
    )
    assert code == 0
    assert "MSP (msp)" in out and "GAIA-A (gaia_a)" in out
    assert "ID: digits (40 samples, accuracy" in out
    for block in out.split("\n\n")[1:3]:
        rows = [line.split()[0] for line in block.splitlines()[3:]]
        assert rows == ["noise", "letters", "Average"]
        assert block.splitlines()[1].split() == ["FPR95", "AUROC", "AUPR-In", "AUPR-Out"]
    table = pd.read_csv(csv_path)
    assert list(table["ood_set"]) == ["noise", "letters", "Average"] * 2
    assert set(table["method"]) == {"msp", "gaia_a"}
    # Issue 22 item 15: a CSV says its unit in each column's name.
    assert {"FPR95 (%)", "AUROC (%)", "AUPR-In (%)", "AUPR-Out (%)", "id_accuracy (%)"} <= set(table.columns)
    assert table["AUROC (%)"].between(0, 100).all() and table["AUROC (%)"].max() > 1
    document = json.loads(json_path.read_text())
    assert set(document["metrics"]["gaia_a"]) == {"noise", "letters"}
    assert 0 <= document["metrics"]["msp"]["noise"]["auroc"] <= 1
    assert len(document["datasets"]["ood:noise"]["samples"]["sample_id"]) == 40


def test_demo_model_defaults_to_digits_against_every_demo_ood_set(capsys, tmp_path):
    code, out, _ = run(capsys, "evaluate", "--methods", "msp", "--no-cache", *QUICK)
    assert code == 0
    rows = [line.split()[0] for line in out.split("\n\n")[1].splitlines()[3:]]
    assert rows == ["letters", "natural", "textures", "noise", "shifted", "Average"]


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--benchmark", "demo", "--ood", "noise"], "either --benchmark or --ood"),
        (["--model", "cifar_resnet18", "--benchmark", "imagenet"], "is for imagenet models"),
        (["--model", "cifar_resnet18", "--ood", "svhn"], "give the ID set with --id"),
        (["--batch-size", "0"], "--batch-size must be at least 1"),
    ],
)
def test_bad_option_combinations_exit_2_with_one_line(capsys, argv, expected):
    code, out, err = run(capsys, "evaluate", *argv, "--no-cache")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("gaia: error:") and expected in err


def test_missing_dataset_says_what_to_put_where(capsys, tmp_path):
    code, _, err = run(
        capsys,
        "evaluate",
        "--model",
        "cifar_resnet18",
        "--benchmark",
        "cifar10",
        "--data-root",
        str(tmp_path),
        "--no-cache",
    )
    assert code == 2 and err.count("\n") == 1
    assert f"{tmp_path}/cifar-10-batches-py" in err and "--download" in err


def test_bad_checkpoint_is_one_line(capsys, tmp_path):
    bad = tmp_path / "w.pt"
    bad.write_bytes(b"not a checkpoint")
    code, _, err = run(capsys, "evaluate", "--checkpoint", str(bad), "--ood", "noise", "--no-cache", *QUICK)
    assert code == 2 and err.count("\n") == 1 and "w.pt" in err


def test_debug_shows_the_traceback_instead(tmp_path):
    with pytest.raises(DatasetNotFound):
        main(["evaluate", "--ood", str(tmp_path / "missing"), "--no-cache", "--debug"])


def test_unreadable_files_are_reported_on_stderr(capsys, tmp_path, monkeypatch):
    def pil_loader(data, name):
        image = Image.open(io.BytesIO(data))
        image.load()
        return image

    monkeypatch.setattr("gaia_core.data.files.safe_image_loader", pil_loader)
    folder = tmp_path / "mine"
    folder.mkdir()
    for i in range(3):
        Image.new("L", (32, 32), 80 * i).save(folder / f"{i}.png")
    (folder / "1.png").write_bytes(b"corrupt")
    code, out, err = run(capsys, "evaluate", "--ood", str(folder), "--methods", "msp", "--no-cache", *QUICK)
    assert code == 0 and "mine" in out
    assert f"skipped 1 unreadable file(s) in mine: {folder / '1.png'}" in err


def _commands():
    parser = build_parser()
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices


def test_help_documents_every_option():
    evaluate = _commands()["evaluate"]
    options = [s for action in evaluate._actions for s in action.option_strings if s.startswith("--")]
    assert {
        "--model",
        "--checkpoint",
        "--pretrained",
        "--id",
        "--ood",
        "--benchmark",
        "--data-root",
        "--download",
        "--methods",
        "--batch-size",
        "--workers",
        "--device",
        "--cache-dir",
        "--no-cache",
        "--csv",
        "--json",
        "--debug",
    } <= set(options)
    for action in evaluate._actions:
        assert action.help and action.help != argparse.SUPPRESS, action.option_strings
        if action.default not in (None, False, argparse.SUPPRESS):
            assert "(default: " in action.help, action.option_strings


def test_options_shared_by_evaluate_and_layers_are_one_definition():
    commands = _commands()
    evaluate, layers = ({a.dest: a for a in commands[c]._actions if a.option_strings} for c in ("evaluate", "layers"))
    shared = set(evaluate) & set(layers) - {"help", "csv"}  # --csv writes a different table in each
    assert {"model", "checkpoint", "num_classes", "benchmark", "id", "ood", "data_root", "limit"} <= shared
    for dest in shared:
        mine, theirs = evaluate[dest], layers[dest]
        assert (mine.help, mine.default, mine.choices, mine.metavar) == (
            theirs.help,
            theirs.default,
            theirs.choices,
            theirs.metavar,
        ), dest


def test_numbers_out_of_range_are_refused_by_the_parser_in_one_line(capsys):
    for argv, expected in (
        (["evaluate", "--workers", "-1"], "--workers must be 0 or more (got -1)"),
        (["evaluate", "--limit", "0"], "--limit must be at least 1 (got 0)"),
        (["evaluate", "--fit-samples", "0"], "--fit-samples must be at least 1 (got 0)"),
        (["layers", "--batch-size", "-5"], "--batch-size must be at least 1 (got -5)"),
        (["evaluate", "--methods", "nope"], "argument --methods: invalid choice: 'nope'"),
    ):
        code, out, err = run(capsys, *argv)
        assert code == 2 and out == "" and err.count("\n") == 1, argv
        assert err.startswith("gaia: error: ") and expected in err, err


def test_datasets_command_lists_benchmarks_and_locations(capsys):
    code, out, _ = run(capsys, "datasets")
    assert code == 0
    assert "openood-cifar10" in out and "cifar-10-batches-py" in out and "iNaturalist/" in out
    assert "letters" in out


def test_pretrained_reads_the_cache_and_downloads_only_with_download(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    fetched = []
    monkeypatch.setattr("torch.hub.download_url_to_file", lambda url, path, progress=True: fetched.append(url))
    code, _, err = run(
        capsys, "evaluate", "--model", "resnet18", "--pretrained", "--id", "digits", "--ood", "noise", *QUICK
    )
    assert code == 2 and fetched == []
    assert f"{tmp_path}/hub/checkpoints/resnet18-" in err and "--pretrained --download" in err
    code, _, err = run(
        capsys,
        "evaluate",
        "--model",
        "resnet18",
        "--pretrained",
        "--download",
        "--id",
        "digits",
        "--ood",
        "noise",
        *QUICK,
    )
    assert code == 2 and len(fetched) == 1 and fetched[0].endswith(".pth")  # asked for; the stub writes nothing


def test_user_errors_are_one_line_and_bugs_are_not_swallowed(capsys, monkeypatch):
    import torch

    import gaia_core.cli.evaluate as evaluate

    def out_of_memory(args):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(evaluate, "run", out_of_memory)
    code, _, err = run(capsys, "evaluate")
    assert code == 2 and err.count("\n") == 1 and "lower --batch-size" in err

    def bug(args):
        raise ZeroDivisionError("a bug, not a user error")

    monkeypatch.setattr(evaluate, "run", bug)
    with pytest.raises(ZeroDivisionError):
        main(["evaluate"])


def test_layers_option_sets_gaia_zs_taps_and_gaia_as_inner_layers(capsys, tmp_path):
    from gaia_core.data import demo_dataset, evenly_spaced
    from gaia_core.evaluation.scoring import evaluate_dataset
    from gaia_core.models import load_model
    from gaia_core.scores import GaiaA, GaiaZ

    layers = ["layer2.0.bn2", "layer4.0.bn1"]
    path = tmp_path / "t.json"
    argv = ["evaluate", "--ood", "noise", "--methods", "gaia_z", "gaia_a", "--layers", *layers, "--json", str(path)]
    code, _, _ = run(capsys, *argv, "--no-cache", *QUICK)
    assert code == 0
    samples = json.loads(path.read_text())["datasets"]["id"]["samples"]
    digits = evenly_spaced(demo_dataset("digits"), 40)
    expected = evaluate_dataset(
        load_model("demo", device="cpu"), digits, [GaiaZ(layers=tuple(layers)), GaiaA(inner_layers=tuple(layers))]
    )
    for method in ("gaia_z", "gaia_a"):
        np.testing.assert_allclose(samples[method], expected.scores(method), rtol=1e-5, atol=1e-7)


def test_unknown_layers_are_refused_in_one_line(capsys):
    code, out, err = run(capsys, "evaluate", "--ood", "noise", "--layers", "layer9.bn", *QUICK, "--no-cache")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "has no layer named 'layer9.bn'" in err


def test_default_evaluate_skips_a_method_that_cannot_apply_with_one_line_and_scores_the_others(capsys, tmp_path):
    import torch
    from helpers.pool_head import build

    checkpoint = tmp_path / "pool_head.pt"
    torch.save(build().state_dict(), checkpoint)
    model = [
        "--model",
        "helpers.pool_head:build",
        "--checkpoint",
        str(checkpoint),
        "--num-classes",
        "10",
        "--id",
        "digits",
        "--ood",
        "noise",
    ]
    code, out, err = run(capsys, "evaluate", *model, "--no-cache", *QUICK)
    assert code == 0, err
    notes = [line for line in err.splitlines() if "skipped" in line]
    assert [n.split(":")[:2] for n in notes] == [["gaia", " GradNorm skipped"], ["gaia", " ReAct skipped"]]
    assert "GradNorm (gradnorm)" not in out and "ReAct (react)" not in out
    assert all(f"{label} ({name})" in out for label, name in (("GAIA-Z", "gaia_z"), ("MSP", "msp"), ("ODIN", "odin")))
    code, out, err = run(capsys, "evaluate", *model, "--methods", "gradnorm", "--no-cache", *QUICK)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "none of the methods asked for can score this model: GradNorm skipped" in err
