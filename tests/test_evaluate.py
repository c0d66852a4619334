"""Batch scoring: the per-sample table, channel statistics, caching, resuming, bad files, benchmarks."""

import numpy as np
import pytest
import torch
from conftest import randomize_norm_stats
from helpers.images import grey_png, pil_loader

import gaia_core.evaluation.scoring as evaluate_module
from gaia_core.data import (
    ArrayDataset,
    EmptyDatasetError,
    LabelMismatchError,
    demo_dataset,
    evenly_spaced,
    image_folder,
    image_transform,
)
from gaia_core.demo.model import build_demo_model
from gaia_core.evaluation.cache import ScoreCache
from gaia_core.evaluation.fitting import fit_methods
from gaia_core.evaluation.metrics import ood_metrics
from gaia_core.evaluation.ood_tables import evaluate_benchmark, format_report, metrics_table
from gaia_core.evaluation.results import TABLE_COLUMNS, ChannelStats
from gaia_core.evaluation.scoring import evaluate_dataset
from gaia_core.models import get_spec
from gaia_core.scores import ReAct, create, score_many


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return randomize_norm_stats(build_demo_model()).eval()


@pytest.fixture(scope="module")
def digits():
    return evenly_spaced(demo_dataset("digits"), 24)


@pytest.fixture(scope="module")
def noise():
    return evenly_spaced(demo_dataset("noise"), 16)


@pytest.fixture
def scored(monkeypatch):
    """Counts the samples that reach score_many."""
    counter = {"samples": 0, "calls": 0}
    original = evaluate_module.score_many

    def counting(model, x, methods):
        counter["samples"] += len(x)
        counter["calls"] += 1
        return original(model, x, methods)

    monkeypatch.setattr(evaluate_module, "score_many", counting)
    return counter


def methods():
    return [create("gaia_a"), create("gaia_z"), create("msp")]


def stacked(dataset):
    return torch.stack([dataset[i].image for i in range(len(dataset))])


def test_table_holds_every_sample_in_order_with_predictions_and_scores(model, digits):
    result = evaluate_dataset(model, digits, methods(), batch_size=10)
    table = result.table
    assert list(table.columns) == [*TABLE_COLUMNS, "gaia_a", "gaia_z", "msp"]
    assert list(table["index"]) == list(range(24))
    assert list(table["sample_id"]) == [digits[i].sample_id for i in range(24)]
    assert list(table["label"]) == list(digits.labels())
    x = stacked(digits)
    direct = score_many(model, x, methods())
    logits = direct["msp"].logits
    assert list(table["pred"]) == logits.argmax(1).tolist()
    np.testing.assert_allclose(table["confidence"], logits.softmax(1).max(1).values.detach(), rtol=1e-5)
    for name in ("gaia_a", "gaia_z", "msp"):
        np.testing.assert_allclose(result.scores(name), direct[name].score.detach(), rtol=1e-4, atol=1e-6)
    for name in ("gaia_a", "gaia_z"):
        assert set(result.channels[name]) == set(direct[name].channels)
        for layer, values in direct[name].channels.items():
            np.testing.assert_allclose(result.channels[name][layer], values.detach(), rtol=1e-4, atol=1e-6)
            np.testing.assert_allclose(result.channel_stats[name][layer].mean, values.detach().mean(0), rtol=1e-4)
    assert "msp" not in result.channels
    assert (result.scored, result.from_cache, result.skipped) == (24, 0, [])


def test_streamed_channel_statistics_match_the_kept_values(model, digits):
    kept = evaluate_dataset(model, digits, methods(), batch_size=8, chunk_size=8)
    streamed = evaluate_dataset(model, digits, methods(), batch_size=8, chunk_size=8, keep_channels=False)
    assert streamed.channels == {}
    for name, layers in kept.channel_stats.items():
        for layer, stats in layers.items():
            other = streamed.channel_stats[name][layer]
            assert other.count == stats.count == 24
            np.testing.assert_allclose(other.mean, stats.mean, rtol=1e-6, atol=1e-12)
            np.testing.assert_allclose(other.variance, stats.variance, rtol=1e-5, atol=1e-12)


def test_chan_merge_equals_statistics_of_all_values():
    values = np.random.default_rng(0).normal(size=(50, 4)) * [1, 2, 3, 4] + [0, 1, 2, 3]
    merged = ChannelStats.from_values(values[:13]).merge(ChannelStats.from_values(values[13:]))
    assert merged.count == 50
    np.testing.assert_allclose(merged.mean, values.mean(0))
    np.testing.assert_allclose(merged.variance, values.var(0))
    assert ChannelStats.from_values(values[:0]).merge(merged) is merged


def test_second_run_reads_the_cache_and_scores_nothing(model, digits, tmp_path, scored):
    cache = ScoreCache(tmp_path)
    first = evaluate_dataset(model, digits, methods(), batch_size=8, cache=cache)
    assert scored["samples"] == 24
    second = evaluate_dataset(model, digits, methods(), batch_size=5, cache=cache)
    assert scored["samples"] == 24
    assert (second.from_cache, second.scored) == (24, 0)
    assert first.table.equals(second.table)
    for name, layers in first.channels.items():
        for layer, values in layers.items():
            np.testing.assert_array_equal(second.channels[name][layer], values)


def test_cache_is_invalidated_by_weights_data_or_method(model, digits, noise, tmp_path, scored):
    cache = ScoreCache(tmp_path)
    evaluate_dataset(model, digits, [create("msp")], cache=cache)
    assert scored["samples"] == 24
    evaluate_dataset(model, noise, [create("msp")], cache=cache)
    assert scored["samples"] == 40
    evaluate_dataset(model, digits, [create("energy", temperature=2.0)], cache=cache)
    assert scored["samples"] == 64
    changed = build_demo_model()
    changed.load_state_dict(model.state_dict())
    with torch.no_grad():
        changed.fc.bias.add_(1.0)
    evaluate_dataset(changed.eval(), digits, [create("msp")], cache=cache)
    assert scored["samples"] == 88
    evaluate_dataset(model, digits, [create("msp")], cache=cache)
    assert scored["samples"] == 88


def test_interrupted_run_resumes_after_its_last_finished_chunk(model, digits, tmp_path, scored):
    cache = ScoreCache(tmp_path)

    def stop_after_two_batches(done, total):
        if done >= 16:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        evaluate_dataset(
            model, digits, methods(), batch_size=8, chunk_size=8, cache=cache, progress=stop_after_two_batches
        )
    assert scored["samples"] == 16
    resumed = evaluate_dataset(model, digits, methods(), batch_size=8, chunk_size=8, cache=cache)
    assert scored["samples"] == 24
    assert (resumed.from_cache, resumed.scored) == (16, 8)
    fresh = evaluate_dataset(model, digits, methods(), batch_size=24)
    assert list(resumed.table["sample_id"]) == list(fresh.table["sample_id"])
    for name in ("gaia_a", "gaia_z", "msp"):
        np.testing.assert_allclose(resumed.scores(name), fresh.scores(name), rtol=1e-4, atol=1e-6)


def test_progress_reports_samples_done_out_of_total(model, digits):
    calls = []
    evaluate_dataset(model, digits, [create("msp")], batch_size=10, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(0, 24), (10, 24), (20, 24), (24, 24)]


def test_worker_processes_give_the_same_result(model, digits):
    inline = evaluate_dataset(model, digits, [create("msp")], batch_size=8, num_workers=0)
    workers = evaluate_dataset(model, digits, [create("msp")], batch_size=8, num_workers=1)
    assert inline.table.equals(workers.table)


def test_unreadable_files_are_skipped_and_reported(model, tmp_path):
    for i in range(5):
        (tmp_path / f"{i}.png").write_bytes(grey_png(40 * i))
    (tmp_path / "2.png").write_bytes(b"corrupt")
    (tmp_path / "4.png").write_bytes(grey_png(1)[:40])
    dataset = image_folder(tmp_path, image_transform(get_spec("demo")), loader=pil_loader)
    cache = ScoreCache(tmp_path / "cache")
    result = evaluate_dataset(model, dataset, [create("msp")], batch_size=2, cache=cache)
    assert list(result.table["sample_id"]) == ["0.png", "1.png", "3.png"]
    assert [(s.index, s.path) for s in result.skipped] == [(2, str(tmp_path / "2.png")), (4, str(tmp_path / "4.png"))]
    again = evaluate_dataset(model, dataset, [create("msp")], batch_size=2, cache=cache)
    assert again.scored == 0 and again.skipped == result.skipped


def test_a_set_with_no_readable_file_is_an_error(model, tmp_path):
    (tmp_path / "a.png").write_bytes(b"corrupt")
    dataset = image_folder(tmp_path, image_transform(get_spec("demo")), loader=pil_loader)
    with pytest.raises(EmptyDatasetError, match="none of the 1 samples"):
        evaluate_dataset(model, dataset, [create("msp")])


def test_scoring_leaves_the_model_untouched(model, digits):
    flags = [p.requires_grad for p in model.parameters()]
    state = {k: v.clone() for k, v in model.state_dict().items()}
    evaluate_dataset(model, digits, methods(), batch_size=12)
    assert not model.training and [p.requires_grad for p in model.parameters()] == flags
    assert all(p.grad is None for p in model.parameters())
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())


def test_fit_methods_fits_react_once_and_reuses_the_cached_fit(model, digits, tmp_path, monkeypatch):
    cache = ScoreCache(tmp_path)
    fitted = fit_methods(model, [create("msp"), create("react")], digits, batch_size=8, cache=cache)
    expected = ReAct().fit(model, [stacked(digits)])
    assert fitted[0] == create("msp")
    assert fitted[1].threshold == pytest.approx(expected.threshold, rel=1e-6)

    def no_fit(self, model, batches):
        raise AssertionError("fitted again")

    monkeypatch.setattr(ReAct, "fit", no_fit)
    assert fit_methods(model, [create("msp"), create("react")], digits, cache=cache) == fitted


def test_benchmark_gives_metrics_per_ood_set_and_a_paper_like_table(model, digits, noise):
    letters = evenly_spaced(demo_dataset("letters"), 16)
    result = evaluate_benchmark(
        model,
        digits,
        [noise, letters],
        [create("msp"), create("gaia_z")],
        groups={"far": ["noise"], "near": ["letters"]},
        batch_size=16,
    )
    assert list(result.ood_scores) == ["noise", "letters"]
    expected = ood_metrics(result.id_scores.scores("msp"), result.ood_scores["noise"].scores("msp"))
    assert result.metrics["msp"]["noise"] == expected
    table = metrics_table(result, "gaia_z")
    assert list(table.index) == ["noise", "letters", "Far-OOD average", "Near-OOD average", "Average"]
    assert list(table.columns) == ["FPR95", "AUROC", "AUPR-In", "AUPR-Out"]
    assert table.loc["Average", "AUROC"] == pytest.approx(
        50 * (result.metrics["gaia_z"]["noise"]["auroc"] + result.metrics["gaia_z"]["letters"]["auroc"])
    )
    assert result.id_accuracy == pytest.approx(result.id_scores.accuracy)
    report = format_report(result)
    assert "MSP (msp)" in report and "GAIA-Z (gaia_z)" in report and "accuracy" in report


def test_labels_beyond_the_models_classes_are_refused(model):
    images = np.zeros((3, 1, 32, 32), np.float32)
    dataset = ArrayDataset(images, np.array([0, 5, 12]), "wide", demo_dataset("noise").transform)
    with pytest.raises(LabelMismatchError, match="labels up to 12.*outputs 10 classes"):
        evaluate_benchmark(model, dataset, [demo_dataset("noise")], [create("msp")])
