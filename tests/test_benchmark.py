"""One benchmark run (`run_benchmark`): fitted on the fit set, scored through the cache, the layers asked for."""

import numpy as np
import pytest
import torch
from conftest import randomize_norm_stats
from helpers.images import grey_png, pil_loader

from gaia_core.data import EmptyDatasetError, demo_dataset, evenly_spaced, image_folder, image_transform
from gaia_core.demo.model import build_demo_model
from gaia_core.errors import ConfigError
from gaia_core.evaluation.benchmark import (
    BenchmarkRequest,
    needs_fit,
    run_benchmark,
    summed_progress,
)
from gaia_core.evaluation.cache import ScoreCache
from gaia_core.evaluation.model_facts import readable_images
from gaia_core.evaluation.ood_tables import evaluate_benchmark
from gaia_core.models import get_spec
from gaia_core.scores import ODIN, ReAct, create
from gaia_core.scores.taps import LayerError, default_gaia_z_layers

LAYERS = ("layer2.0.bn2", "layer4.0.bn1")


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return randomize_norm_stats(build_demo_model()).eval()


@pytest.fixture(scope="module")
def sets():
    return {name: evenly_spaced(demo_dataset(name), 16) for name in ("digits", "noise", "letters")}


def stacked(dataset):
    return torch.stack([dataset[i].image for i in range(len(dataset))])


def request(model, sets, **options):
    return BenchmarkRequest(
        model, get_spec("demo"), sets["digits"], (sets["noise"], sets["letters"]), options.pop("methods"), **options
    )


def test_react_is_fitted_on_the_fit_set_and_the_scores_are_those_of_the_fitted_methods(model, sets):
    fit_set = evenly_spaced(demo_dataset("digits", "train"), 24)
    run = run_benchmark(request(model, sets, methods=("msp", "react"), fit_set=fit_set, batch_size=8))
    react = dict((m.name, m) for m in run.methods)["react"]
    on_fit_set = ReAct().fit(model, [stacked(fit_set)]).threshold
    on_id_set = ReAct().fit(model, [stacked(sets["digits"])]).threshold
    assert react.threshold == pytest.approx(on_fit_set, rel=1e-6) and on_fit_set != pytest.approx(on_id_set)
    direct = evaluate_benchmark(model, sets["digits"], [sets["noise"], sets["letters"]], list(run.methods))
    assert run.result.metrics == direct.metrics
    np.testing.assert_array_equal(run.result.id_scores.scores("react"), direct.id_scores.scores("react"))


def test_without_a_fit_set_react_is_fitted_on_the_id_set(model, sets):
    run = run_benchmark(request(model, sets, methods=("react",)))
    assert run.methods[0].threshold == pytest.approx(ReAct().fit(model, [stacked(sets["digits"])]).threshold)


def test_odin_gets_the_specs_std_and_a_second_run_reads_everything_from_the_cache(model, sets, tmp_path, monkeypatch):
    cache = ScoreCache(tmp_path)
    first = run_benchmark(request(model, sets, methods=("odin", "react"), cache=cache))
    assert first.methods[0] == ODIN(input_std=get_spec("demo").std)

    def no_scoring(*args):
        raise AssertionError("scored again")

    monkeypatch.setattr("gaia_core.evaluation.scoring.score_many", no_scoring)
    monkeypatch.setattr(ReAct, "fit", no_scoring)
    second = run_benchmark(request(model, sets, methods=("odin", "react"), cache=cache))
    assert second.result.metrics == first.result.metrics and second.methods == first.methods


def test_the_layers_asked_for_are_gaia_zs_taps_and_gaia_as_inner_layers(model, sets):
    run = run_benchmark(request(model, sets, methods=("gaia_z", "gaia_a", "msp"), layers=LAYERS))
    for method in ("gaia_z", "gaia_a"):
        assert tuple(run.result.id_scores.channels[method]) == LAYERS
    assert [m.name for m in run.methods] == ["gaia_z", "gaia_a", "msp"]
    default = run_benchmark(request(model, sets, methods=("gaia_z",)))
    assert list(default.result.id_scores.channels["gaia_z"]) == default_gaia_z_layers(model)


def test_unknown_layers_and_layers_without_a_gaia_method_are_refused(model, sets):
    with pytest.raises(LayerError, match="no layer named 'layer9.bn'"):
        run_benchmark(request(model, sets, methods=("gaia_z",), layers=("layer9.bn",)))
    with pytest.raises(ConfigError, match="only for GAIA-A and GAIA-Z"):
        run_benchmark(request(model, sets, methods=("msp", "energy"), layers=LAYERS))


def test_summed_progress_reports_samples_done_over_every_set():
    calls = []
    report = summed_progress(lambda done, total: calls.append((done, total)), [range(10), range(6)])
    report("a", 4, 10)
    report("a", 10, 10)
    report("b", 6, 6)
    assert calls == [(0, 16), (4, 16), (10, 16), (16, 16)]


def test_needs_fit_names_react_only():
    assert needs_fit(["msp", "react"]) and not needs_fit(["gaia_z", "msp", "odin"])
    assert all(needs_fit([name]) == create(name).needs_fit for name in ("react", "energy"))


def test_readable_images_pass_over_unreadable_files(tmp_path):
    for i in range(5):
        (tmp_path / f"{i}.png").write_bytes(grey_png(40 * i) if i != 1 else b"corrupt")
    dataset = image_folder(tmp_path, image_transform(get_spec("demo")), loader=pil_loader)
    x = readable_images(dataset, 3)
    assert x.shape == (3, 1, 32, 32)
    torch.testing.assert_close(x, torch.stack([dataset[i].image for i in (0, 2, 3)]))
    assert readable_images(dataset, 10).shape[0] == 4


def test_a_fit_set_with_no_readable_file_is_an_error_naming_the_set(model, sets, tmp_path):
    folder = tmp_path / "broken"
    folder.mkdir()
    for i in range(3):
        (folder / f"{i}.png").write_bytes(b"corrupt")
    fit_set = image_folder(folder, image_transform(get_spec("demo")), loader=pil_loader)
    with pytest.raises(EmptyDatasetError, match="none of the 3 samples of 'broken' that ReAct is fitted on"):
        run_benchmark(request(model, sets, methods=("react",), fit_set=fit_set))


def _pool_head_sets():
    from helpers.pool_head import build

    from gaia_core.data import array_transform

    torch.manual_seed(0)
    model = randomize_norm_stats(build()).eval()
    spec = get_spec("helpers.pool_head:build")
    sets = {n: evenly_spaced(demo_dataset(n, transform=array_transform(spec)), 12) for n in ("digits", "noise")}
    return model, spec, sets


def test_methods_that_cannot_apply_are_skipped_with_one_line_each_and_the_others_scored(tmp_path, monkeypatch):
    model, spec, sets = _pool_head_sets()
    cache = ScoreCache(tmp_path)
    methods = ("gaia_z", "msp", "gradnorm", "energy", "react")
    run = run_benchmark(BenchmarkRequest(model, spec, sets["digits"], (sets["noise"],), methods, cache=cache))
    assert run.result.methods == ["gaia_z", "msp", "energy"] and [m.name for m in run.methods] == run.result.methods
    assert [n.split(":")[0] for n in run.skipped_methods] == ["GradNorm skipped", "ReAct skipped"]
    assert all("\n" not in n and "pooled features" in n for n in run.skipped_methods)

    def no_trial(*args):
        raise AssertionError("the methods were tried again")

    monkeypatch.setattr("gaia_core.evaluation.model_facts.applicable_methods", no_trial)
    again = run_benchmark(BenchmarkRequest(model, spec, sets["digits"], (sets["noise"],), methods, cache=cache))
    assert again.skipped_methods == run.skipped_methods and again.result.metrics == run.result.metrics


def test_asking_only_for_methods_that_cannot_apply_is_one_layer_error():
    model, spec, sets = _pool_head_sets()
    with pytest.raises(LayerError, match="none of the methods asked for can score this model: GradNorm skipped") as err:
        run_benchmark(BenchmarkRequest(model, spec, sets["digits"], (sets["noise"],), ("gradnorm", "react")))
    assert "ReAct skipped" in str(err.value) and "\n" not in str(err.value)
