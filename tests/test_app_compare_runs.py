"""Issue 21 item 10 in the app: Compare runs puts scored runs of the cache side by side, one metrics
table per method with the ID accuracy and near-/far-OOD averages, exported as CSV and HTML."""

import copy
import re

import pytest
import torch
from helpers.app import assert_clean, new_app, open_page, texts

from gaia_core.data import demo_dataset, evenly_spaced
from gaia_core.evaluation.cache import ScoreCache
from gaia_core.evaluation.ood_tables import evaluate_benchmark
from gaia_core.evaluation.runs import list_runs, record_run, side_by_side
from gaia_core.models import load_model, weights_fingerprint
from gaia_core.report import comparison_html
from gaia_core.scores import create

COMPARE = "app_pages/compare_runs.py"
METHODS = ("msp", "energy", "gaia_z")
GROUPS = {"near": ["letters"], "far": ["noise", "textures"]}


def _score(cache: ScoreCache, model, checkpoint: str):
    """Score 30 digits against three demo OOD sets into ``cache`` and record the run."""
    digits = evenly_spaced(demo_dataset("digits"), 30)
    ood = [evenly_spaced(demo_dataset(n), 20) for n in ("letters", "noise", "textures")]
    methods = [create(m) for m in METHODS]
    weights = weights_fingerprint(model)
    evaluate_benchmark(model, digits, ood, methods, cache=cache, weights_id=weights, keep_channels=False, groups=GROUPS)
    record_run(
        cache, weights, digits, ood, methods, keep_channels=False, model="demo", checkpoint=checkpoint, groups=GROUPS
    )


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """The demo and a perturbed copy of it, scored and recorded into the module's own cache."""
    root = tmp_path_factory.mktemp("runs_cache")
    demo = load_model("demo")
    perturbed = copy.deepcopy(demo)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for parameter in perturbed.parameters():
            parameter.add_(0.05 * torch.randn(parameter.shape, generator=generator))
    cache = ScoreCache(root)
    _score(cache, demo, "shipped weights")
    _score(cache, perturbed, "perturbed.safetensors")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GAIA_CACHE_DIR", str(root))
        yield cache


def _tables(at):
    """The side-by-side tables on the page (the list of every run has no "ID accuracy")."""
    return [d.value for d in at.dataframe if "ID accuracy" in d.value.columns]


def test_compare_runs_says_how_to_get_a_run_when_the_cache_is_empty(tmp_path, monkeypatch):
    monkeypatch.setenv("GAIA_CACHE_DIR", str(tmp_path))
    at = open_page(new_app(), COMPARE)
    assert_clean(at)
    assert at.title[0].value == "Compare runs"
    assert "No scored run in the score cache yet" in texts(at.info) and "ID vs OOD" in texts(at.info)


def test_two_checkpoints_side_by_side_one_table_per_method_with_accuracy_and_group_averages(two_runs):
    at = open_page(new_app(), COMPARE)
    assert_clean(at)
    runs = list_runs(two_runs)
    labels = at.multiselect(key="compare_runs").value
    assert len(labels) == 2 and {r.checkpoint for r in runs} == {"shipped weights", "perturbed.safetensors"}
    tables = _tables(at)
    assert len(tables) == len(METHODS) and "MSP" in texts(at.subheader)
    msp = tables[0]  # the methods in the runs' order
    assert list(msp.index) == [r.label for r in runs]
    for column in ("letters · AUROC", "Near-OOD average · FPR95", "Far-OOD average · AUROC", "Average · AUROC"):
        assert column in msp.columns
    expected = side_by_side(runs, "msp")
    assert msp["ID accuracy"].tolist() == pytest.approx(expected[("ID", "accuracy")].tolist())
    far = expected[[("noise", "AUROC"), ("textures", "AUROC")]].mean(axis=1)
    assert msp["Far-OOD average · AUROC"].tolist() == pytest.approx(far.tolist())
    assert not msp.iloc[0].equals(msp.iloc[1])  # two checkpoints, two rows of their own

    at.multiselect(key="compare_methods").set_value(["gaia_z"]).run()
    assert len(_tables(at)) == 1 and "MSP" not in texts(at.subheader)
    assert {b.proto.id.rsplit("-", 1)[-1] for b in at.get("download_button")} >= {"compare_csv", "compare_html"}


def test_one_run_picked_asks_for_another(two_runs):
    at = open_page(new_app(), COMPARE)
    at.multiselect(key="compare_runs").set_value(at.multiselect(key="compare_runs").value[:1]).run()
    assert_clean(at)
    assert "Pick two or more runs" in texts(at.info)
    assert not _tables(at)


def test_the_comparison_html_holds_every_methods_table_and_the_runs_settings_and_no_script(two_runs):
    runs = list_runs(two_runs)
    document = comparison_html(
        {"MSP": side_by_side(runs, "msp"), "GAIA-Z": side_by_side(runs, "gaia_z")},
        [(r.label, r.settings.describe(r.methods)) for r in runs],
    )
    assert document.startswith("<!DOCTYPE html>") and "<script" not in document and "http" not in document
    assert document.count("<table") == 2 and "<h2>MSP</h2>" in document and "<h2>GAIA-Z</h2>" in document
    assert all(r.label in document for r in runs) and "Near-OOD average" in document
    accuracy = side_by_side(runs, "msp")[("ID", "accuracy")].iloc[0]
    assert re.search(rf">{accuracy:.2f}<", document)
