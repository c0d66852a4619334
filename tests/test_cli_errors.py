"""Hostile and careless inputs on the command line: one line on stderr and exit 2, names printed
safely, and the files asked for written whatever a check after the scoring says."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers.images import grey_png

from gaia_core.cli import main
from gaia_core.errors import GaiaError

QUICK = ["--limit", "24", "--no-progress", "--batch-size", "12", "--no-cache"]
ROOT = Path(__file__).resolve().parents[1]

FACTORIES = """
from torch import nn


def raises():
    raise RuntimeError("the weights server is down")


def needs_depth(depth):
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, depth))
"""


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_exit_2(code, err, *expected):
    assert code == 2 and err.count("\n") == 1 and err.startswith("gaia: error: "), err
    assert "Traceback" not in err and all(e in err for e in expected), err


@pytest.fixture
def factories(tmp_path, monkeypatch):
    package = tmp_path / "broken_models"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "nets.py").write_text(textwrap.dedent(FACTORIES))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "broken_models.nets"
    for name in [n for n in sys.modules if n.startswith("broken_models")]:
        del sys.modules[name]


def image_folder(path: Path, corrupt: set[int] = frozenset(), count: int = 6) -> Path:
    path.mkdir()
    for i in range(count):
        (path / f"{i}.png").write_bytes(b"corrupt" if i in corrupt else grey_png(30 * i + 10))
    return path


@pytest.mark.parametrize("command", ["evaluate", "layers"])
@pytest.mark.parametrize(
    ("factory", "expected"),
    [("raises", "RuntimeError: the weights server is down"), ("needs_depth", "missing 1 required positional")],
)
def test_a_factory_that_raises_or_takes_other_arguments_is_one_line(capsys, factories, command, factory, expected):
    code, _, err = run(capsys, command, "--model", f"{factories}:{factory}", "--id", "digits", "--ood", "noise", *QUICK)
    assert_one_line_exit_2(code, err, f"the model factory {factories}:{factory} failed", expected)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--seed", "-1"], "--seed must be 0 or more (got -1)"),
        (["--num-classes", "-3"], "--num-classes must be at least 1 (got -3)"),
        (["--k", "0"], "--k must be at least 1 (got 0)"),
    ],
)
def test_layers_refuses_out_of_range_numbers_before_loading_anything(capsys, argv, expected):
    code, out, err = run(capsys, "layers", "--ood", "noise", *argv)
    assert out == ""
    assert_one_line_exit_2(code, err, expected)


def test_python_m_gaia_core_reports_a_bad_option_in_one_line():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "gaia_core", "layers", "--seed", "-1"], capture_output=True, text=True, env=env
    )
    assert (done.returncode, done.stdout, done.stderr) == (2, "", "gaia: error: --seed must be 0 or more (got -1)\n")


def test_an_id_folder_with_no_readable_file_is_one_line_naming_it(capsys, tmp_path):
    folder = image_folder(tmp_path / "all_broken", corrupt=set(range(3)), count=3)
    code, _, err = run(capsys, "evaluate", "--id", str(folder), "--ood", "noise", *QUICK)
    assert_one_line_exit_2(code, err, "none of the 3 samples of 'all_broken'", "ReAct")


def test_escape_codes_in_folder_and_file_names_are_printed_escaped(capsys, tmp_path):
    folder = image_folder(tmp_path / "evil\x1b[2J")
    (folder / "bad\x1b]0;owned\x07.png").write_bytes(b"corrupt")
    code, out, err = run(capsys, "evaluate", "--ood", str(folder), "--methods", "msp", *QUICK)
    assert code == 0
    assert "\x1b" not in out and "\x07" not in out and "evil\\x1b[2J" in out
    assert "\x1b" not in err and "bad\\x1b]0;owned\\x07.png" in err
    code, _, err = run(capsys, "evaluate", "--ood", str(tmp_path / "gone\x1b[31m"), *QUICK)
    assert_one_line_exit_2(code, err, "gone\\x1b[31m")
    assert "\x1b" not in err


def test_a_corrupt_image_among_the_first_four_id_images_does_not_stop_the_run(capsys, tmp_path):
    folder = image_folder(tmp_path / "mine", corrupt={1})
    csv, report = tmp_path / "t.csv", tmp_path / "t.json"
    argv = ["evaluate", "--id", str(folder), "--ood", "noise", "--methods", "gaia_z", "msp"]
    code, out, err = run(capsys, *argv, "--csv", str(csv), "--json", str(report), *QUICK)
    assert code == 0 and "GAIA-Z (gaia_z)" in out
    assert "skipped 1 unreadable file(s) in mine" in err
    assert csv.is_file() and json.loads(report.read_text())["datasets"]["id"]["size"] == 6


def test_the_files_are_written_before_the_applicability_check(capsys, tmp_path, monkeypatch):
    def failing_check(model, id_set, **_options):
        raise GaiaError("the check failed")

    monkeypatch.setattr("gaia_core.cli.evaluate.id_set_applicability", failing_check)
    csv, report = tmp_path / "t.csv", tmp_path / "t.json"
    argv = ["evaluate", "--ood", "noise", "--methods", "gaia_z", "--csv", str(csv), "--json", str(report)]
    code, out, err = run(capsys, *argv, *QUICK)
    assert_one_line_exit_2(code, err, "the check failed")
    assert "GAIA-Z (gaia_z)" in out and csv.is_file() and report.is_file()


def test_an_ood_set_with_no_readable_file_is_left_out_and_the_readable_sets_are_scored(capsys, tmp_path):
    broken = image_folder(tmp_path / "broken_ood", corrupt={0, 1, 2}, count=3)
    report = tmp_path / "t.json"
    argv = ["evaluate", "--ood", "noise", str(broken), "letters", "--methods", "gaia_z", "msp", "--json", str(report)]
    code, out, err = run(capsys, *argv, *QUICK)
    assert "GAIA-Z (gaia_z)" in out
    assert code == 0
    assert "gaia: broken_ood was not scored: " in err and "could be read" in err
    scored = json.loads(report.read_text())["datasets"]
    assert "broken_ood" not in json.dumps(scored) and "noise" in json.dumps(scored) and "letters" in json.dumps(scored)


def test_when_no_ood_set_can_be_read_the_run_says_so_in_one_line(capsys, tmp_path):
    broken = image_folder(tmp_path / "broken_ood", corrupt={0, 1}, count=2)
    code, _, err = run(capsys, "evaluate", "--ood", str(broken), "--methods", "msp", *QUICK)
    assert_one_line_exit_2(code, err, "no OOD set could be read")
