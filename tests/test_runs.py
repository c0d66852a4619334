"""Runs in the score cache: labelled manifests, runs listed and inferred, metrics side by side."""

import io
import json

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import randomize_norm_stats
from torch import nn
from torchvision import transforms as T

from gaia_core.data import ArrayDataset
from gaia_core.evaluation.cache import ScoreCache
from gaia_core.evaluation.ood_tables import evaluate_benchmark
from gaia_core.evaluation.runs import (
    ID_ACCURACY,
    RunsError,
    comparison_csv,
    list_runs,
    read_scores,
    record_run,
    scored_sets,
    side_by_side,
    side_by_side_all,
)
from gaia_core.models import weights_fingerprint
from gaia_core.scores.settings import MethodSettings

METHODS = ("msp", "energy", "gaia_z")
SETTINGS = MethodSettings(energy_temperature=2.0)


def _model(seed: int) -> nn.Module:
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 3),
    )
    generator = torch.Generator().manual_seed(seed)
    for parameter in model.parameters():
        nn.init.normal_(parameter, generator=generator)
    return randomize_norm_stats(model, seed).eval()


def _sets():
    rng = np.random.default_rng(0)
    transform = T.Normalize((0.5,), (0.25,))
    digits = ArrayDataset(rng.random((16, 1, 8, 8)).astype(np.float32), np.arange(16) % 3, "digits", transform)
    noise = ArrayDataset(rng.random((12, 1, 8, 8)).astype(np.float32) ** 3, None, "noise", transform)
    flat = ArrayDataset(np.full((10, 1, 8, 8), 0.5, np.float32), None, "flat", transform)
    return digits, [noise, flat]


def _score(cache, model, record=True, checkpoint="", groups=None):
    digits, ood = _sets()
    methods = SETTINGS.build(METHODS)
    weights = weights_fingerprint(model)
    result = evaluate_benchmark(
        model, digits, ood, methods, cache=cache, weights_id=weights, keep_channels=False, chunk_size=8, groups=groups
    )
    if record:
        record_run(
            cache,
            weights,
            digits,
            ood,
            methods,
            keep_channels=False,
            model="tiny",
            checkpoint=checkpoint,
            groups=groups,
        )
    return result


@pytest.fixture
def cache(tmp_path):
    return ScoreCache(tmp_path)


def test_record_run_adds_readable_labels_to_the_manifest_without_changing_the_key(cache):
    _score(cache, _model(0), checkpoint="a.safetensors")
    sets = {s.title: s for s in scored_sets(cache)}
    assert set(sets) == {"digits", "noise", "flat"}
    manifest = json.loads((sets["digits"].folder / "key.json").read_text())
    assert manifest["labels"]["model"] == "tiny" and manifest["labels"]["checkpoint"] == "a.safetensors"
    assert manifest["labels"]["roles"] == ["id"] and len(manifest["labels"]["ood"]) == 2
    assert manifest["weights"] == sets["digits"].weights and "dataset" in manifest  # the key's parts stay
    again = _score(cache, _model(0), checkpoint="a.safetensors")  # same key: everything read back
    assert again.id_scores.from_cache == 16 and len(scored_sets(cache)) == 3


def test_two_checkpoints_list_as_two_runs_named_by_model_checkpoint_and_sets(cache):
    _score(cache, _model(0), checkpoint="a.safetensors")
    _score(cache, _model(1), checkpoint="b.safetensors")
    runs = list_runs(cache)
    assert sorted(r.label for r in runs) == [
        "tiny · a.safetensors · digits (16) vs noise, flat",
        "tiny · b.safetensors · digits (16) vs noise, flat",
    ]
    assert not any(r.inferred for r in runs) and runs[0].methods == METHODS
    assert runs[0].settings == SETTINGS  # the settings read back from the manifest


def test_side_by_side_gives_the_benchmarks_own_metrics_and_accuracy_per_run(cache):
    first = _score(cache, _model(0), checkpoint="a.safetensors")
    second = _score(cache, _model(1), checkpoint="b.safetensors")
    runs = sorted(list_runs(cache), key=lambda r: r.checkpoint)
    table = side_by_side(runs, "gaia_z")
    for row, result in zip(table.index, (first, second)):
        for title in ("noise", "flat"):
            assert table.loc[row, (title, "AUROC")] == pytest.approx(100 * result.metrics["gaia_z"][title]["auroc"])
            assert table.loc[row, (title, "FPR95")] == pytest.approx(100 * result.metrics["gaia_z"][title]["fpr95"])
        average = np.mean([100 * result.metrics["gaia_z"][t]["aupr_out"] for t in ("noise", "flat")])
        assert table.loc[row, ("Average", "AUPR-Out")] == pytest.approx(average)
        assert table.loc[row, ID_ACCURACY] == pytest.approx(100 * result.id_accuracy)
    both = side_by_side_all(runs, ["gaia_z", "msp"])
    assert list(both.index.get_level_values("method").unique()) == ["GAIA-Z", "MSP"]


def test_near_and_far_groups_get_their_own_averages(cache):
    result = _score(cache, _model(0), groups={"near": ["noise"], "far": ["flat"]})
    table = side_by_side(list_runs(cache), "msp")
    assert table.iloc[0][("Near-OOD average", "AUROC")] == pytest.approx(100 * result.metrics["msp"]["noise"]["auroc"])
    assert table.iloc[0][("Far-OOD average", "AUROC")] == pytest.approx(100 * result.metrics["msp"]["flat"]["auroc"])


def test_unrecorded_entries_form_a_run_around_the_one_fully_labelled_set(cache):
    _score(cache, _model(2), record=False)
    (run,) = list_runs(cache)
    assert run.inferred and run.id_set.title.startswith("set ") and len(run.ood_sets) == 2
    assert run.model.startswith("weights ") and read_scores(run.id_set).labels.min() >= 0


def test_the_table_exports_as_csv_with_one_header_row(cache):
    _score(cache, _model(0), checkpoint="a.safetensors")
    _score(cache, _model(1), checkpoint="b.safetensors")
    table = pd.read_csv(io.StringIO(comparison_csv(side_by_side(list_runs(cache), "energy"))), index_col=0)
    assert {"noise · FPR95", "flat · AUPR-In", "Average · AUROC", "ID · accuracy"} <= set(table.columns)
    assert len(table) == 2


def test_a_missing_chunk_marks_the_set_incomplete(cache):
    _score(cache, _model(0))
    digits = next(s for s in scored_sets(cache) if s.title == "digits")
    assert read_scores(digits).complete
    sorted(digits.folder.glob("chunk-*.npz"))[0].unlink()
    partial = read_scores(digits)
    assert not partial.complete and len(partial.labels) == 8


def test_comparing_nothing_or_an_unscored_method_is_refused(cache):
    _score(cache, _model(0))
    with pytest.raises(RunsError, match="at least one run"):
        side_by_side([], "msp")
    with pytest.raises(RunsError, match="ODIN was not scored"):
        side_by_side(list_runs(cache), "odin")


def test_a_second_recording_adds_its_ood_sets_and_keeps_the_first_names(cache):
    digits, (noise, flat) = _sets()
    model, methods = _model(0), SETTINGS.build(METHODS)
    weights = weights_fingerprint(model)
    for ood, checkpoint in (([noise], "a.safetensors"), ([flat], "renamed.safetensors")):
        evaluate_benchmark(model, digits, ood, methods, cache=cache, weights_id=weights, keep_channels=False)
        record_run(cache, weights, digits, ood, methods, keep_channels=False, model="tiny", checkpoint=checkpoint)
    (run,) = list_runs(cache)
    assert [s.title for s in run.ood_sets] == ["noise", "flat"] and run.checkpoint == "a.safetensors"
