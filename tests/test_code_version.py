"""The score cache's code version follows the sources: a changed formula never serves stale scores."""

import shutil

import pytest
import torch
from conftest import randomize_norm_stats

import gaia_core.evaluation.scoring as scoring_module
from gaia_core.data import demo_dataset, evenly_spaced
from gaia_core.demo.model import build_demo_model
from gaia_core.evaluation.cache import ScoreCache
from gaia_core.evaluation.code_version import PACKAGE_ROOT, code_version, sources_digest
from gaia_core.evaluation.scoring import evaluate_dataset
from gaia_core.scores import create


def test_the_code_version_is_the_digest_of_the_installed_sources():
    assert code_version() == sources_digest(PACKAGE_ROOT)


def test_changing_one_byte_of_a_score_method_changes_the_code_version(tmp_path):
    copy = tmp_path / "gaia_core"
    shutil.copytree(PACKAGE_ROOT, copy, ignore=shutil.ignore_patterns("__pycache__", "assets"))
    assert sources_digest(copy) == sources_digest(PACKAGE_ROOT)
    method = copy / "scores" / "gaia_z.py"
    source = method.read_text()
    assert "(g != 0)" in source
    method.write_text(source.replace("(g != 0)", "(g != 1)", 1))
    assert sources_digest(copy) != sources_digest(PACKAGE_ROOT)


def test_changing_code_that_makes_no_numbers_keeps_the_code_version(tmp_path):
    copy = tmp_path / "gaia_core"
    shutil.copytree(PACKAGE_ROOT, copy, ignore=shutil.ignore_patterns("__pycache__", "assets"))
    (copy / "cli" / "__init__.py").write_text((copy / "cli" / "__init__.py").read_text() + "\n# a comment\n")
    (copy / "charts" / "style.py").write_text((copy / "charts" / "style.py").read_text() + "\n# a comment\n")
    assert sources_digest(copy) == sources_digest(PACKAGE_ROOT)


@pytest.fixture
def counted(monkeypatch):
    seen = {"samples": 0}
    original = scoring_module.score_many

    def counting(model, x, methods):
        seen["samples"] += len(x)
        return original(model, x, methods)

    monkeypatch.setattr(scoring_module, "score_many", counting)
    return seen


def test_cached_scores_miss_after_the_code_version_changes(tmp_path, monkeypatch, counted):
    torch.manual_seed(0)
    model = randomize_norm_stats(build_demo_model()).eval()
    digits = evenly_spaced(demo_dataset("digits"), 12)
    cache = ScoreCache(tmp_path)
    evaluate_dataset(model, digits, [create("gaia_z")], cache=cache)
    evaluate_dataset(model, digits, [create("gaia_z")], cache=cache)
    assert counted["samples"] == 12  # same code: the second run is a hit
    monkeypatch.setattr(scoring_module, "code_version", lambda: "another version of the formulas")
    again = evaluate_dataset(model, digits, [create("gaia_z")], cache=cache)
    assert counted["samples"] == 24 and again.scored == 12
