"""The library side of the app's own-data path (issue 21 items 2-4, 11; issue 24 item 9): set keys
that never clash, the default data root and refusals a visitor can act on, the bounded listing of
folders under the data root, titles that tell two folders apart, method settings in the benchmark
request and the report, runs recorded by the command line."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gaia_core.app_support.folders import image_folders
from gaia_core.app_support.sets import (
    data_root_for,
    default_data_root,
    preset_groups,
    set_title,
    visitor_path,
)
from gaia_core.cli import main
from gaia_core.cli.inputs import set_names
from gaia_core.data import PRESETS, SOURCES, demo_dataset, evenly_spaced
from gaia_core.demo.data import DEMO_SETS
from gaia_core.evaluation.benchmark import BenchmarkRequest, request_methods
from gaia_core.evaluation.cache import ScoreCache
from gaia_core.evaluation.ood_tables import evaluate_benchmark
from gaia_core.evaluation.published import published_figure
from gaia_core.evaluation.runs import list_runs
from gaia_core.models import get_spec, load_model
from gaia_core.report import ReportOptions, report_html
from gaia_core.safety import PathNotAllowed
from gaia_core.safety.paths import ENV_VAR
from gaia_core.scores.settings import MethodSettings


def _png(path: Path, size=(12, 10)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size[1], size[0], 3), 120, np.uint8)).save(path)


# --- set keys (item 3) ----------------------------------------------------------------------------


def test_no_demo_set_shares_a_key_with_a_named_dataset_or_a_benchmark():
    demo_names = {f"{name}{split}" for name in DEMO_SETS for split in ("", "-train", "-test")}
    benchmark_sets = {n for p in PRESETS.values() if p.family != "demo" for n in (p.id_set, *p.ood_sets)}
    assert not demo_names & set(SOURCES)
    assert not demo_names & benchmark_sets
    assert not set(DEMO_SETS) & set(PRESETS) - {"demo"}


def test_dtd_is_titled_as_dtd_and_the_demo_textures_stay_synthetic():
    assert set_title("dtd") == "Describable Textures (DTD)"
    assert set_title("textures") == "Synthetic textures"
    assert "dtd" in PRESETS["cifar10"].ood_sets and "dtd" in PRESETS["imagenet"].ood_sets


def test_the_benchmarks_keep_resolving_their_ood_sets_on_the_command_line():
    _, ood, _ = set_names(get_spec("cifar_resnet18"), "cifar10", None, None)
    assert ood == ["svhn", "lsun", "tinyimagenet", "places", "dtd"] and all(n in SOURCES for n in ood)
    assert published_figure("imagenet", "dtd", "fpr95") == 11.32


# --- the data root and refusals (item 2, issue 24 item 9) ---------------------------------------


def test_the_default_data_root_is_data_where_allowed_else_the_first_allowed_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert default_data_root() == "data"
    first, second = tmp_path / "shared", tmp_path / "more"
    monkeypatch.setenv(ENV_VAR, os.pathsep.join([str(first), str(second)]))
    assert default_data_root() == str(first.resolve())
    monkeypatch.setenv(ENV_VAR, os.pathsep.join([str(first), str(tmp_path)]))  # data/ lies inside tmp_path
    assert default_data_root() == "data"


def test_a_refusal_lists_the_folders_a_visitor_may_use_not_how_to_allow_others(tmp_path, monkeypatch):
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    monkeypatch.setenv(ENV_VAR, str(allowed))
    with pytest.raises(PathNotAllowed) as refused:
        visitor_path(str(tmp_path / "elsewhere"), "dir", must_exist=False)
    assert str(allowed.resolve()) in str(refused.value)
    assert ENV_VAR not in str(refused.value)
    with pytest.raises(PathNotAllowed, match="Use a folder inside one of"):
        data_root_for("cifar10", "data")


def test_a_relative_path_is_read_under_the_data_root_not_the_working_folder(tmp_path, monkeypatch):
    root = tmp_path / "root"
    (root / "photos").mkdir(parents=True)
    (tmp_path / "cwd" / "photos").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "cwd")
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert visitor_path("photos", "dir", base=str(root)) == (root / "photos").resolve()
    with pytest.raises(PathNotAllowed, match="does not exist"):
        visitor_path("nothing", "dir", base=str(root))


def test_an_absolute_folder_inside_the_allowed_folders_is_read_under_the_default_data_root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    allowed = tmp_path / "allowed"
    _png(allowed / "mine" / "a.png")
    monkeypatch.setenv(ENV_VAR, str(allowed))
    assert data_root_for(str(allowed / "mine"), default_data_root()) == str(allowed.resolve())


# --- folders under the data root (item 4) --------------------------------------------------------


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "root"
    for path in ("a/test/cat/1.png", "a/test/dog/2.png", "b/test/3.png", "b/test/4.jpg", ".hidden/5.png"):
        _png(root / path)
    (root / "notes").mkdir()
    (root / "notes" / "readme.txt").write_text("not an image")
    _png(root / "deep" / "1" / "2" / "3" / "x.png")  # 4 levels down
    _png(tmp_path / "outside" / "secret.png")
    os.symlink(tmp_path / "outside", root / "link_out")
    os.symlink(root, root / "a" / "loop")
    return root


def test_folders_under_the_data_root_are_listed_by_relative_path_with_how_they_are_labelled(tree):
    listing = image_folders(tree, (tree,))
    found = {f.relative: f for f in listing.folders}
    assert set(found) == {"a/test", "b/test"}
    assert found["a/test"].labelled and found["a/test"].subfolders == ("cat", "dog")
    assert found["a/test"].description == "2 classes (its sub-folders: cat, dog)"
    assert not found["b/test"].labelled and found["b/test"].description == "unlabelled, 2 images"
    assert found["b/test"].path == str((tree / "b" / "test").resolve())
    assert not listing.complete  # "deep" goes below the 3 levels read


def test_the_listing_never_leaves_the_allowed_folders_through_a_link(tree):
    everything = image_folders(tree, (tree.parent,))  # the link's target allowed: it is listed
    assert "link_out" in {f.relative for f in everything.folders}
    assert "link_out" not in {f.relative for f in image_folders(tree, (tree,)).folders}


def test_the_listing_is_bounded_in_folders_read_and_listed(tmp_path):
    for k in range(30):
        _png(tmp_path / f"set{k:02d}" / "a.png")
    listing = image_folders(tmp_path, (tmp_path,), max_listed=5)
    assert [f.relative for f in listing.folders] == [f"set{k:02d}" for k in range(5)] and not listing.complete
    assert len(image_folders(tmp_path, (tmp_path,), max_scanned=10).folders) < 10
    assert image_folders(tmp_path, (tmp_path,)).complete


def test_two_folders_that_end_in_the_same_name_are_titled_apart():
    roots = (Path("/d"), Path("/d/deeper"), Path("/e"))
    titles = [set_title(p, roots) for p in ("/d/a/test", "/d/b/test", "/d/photos", "/d/deeper/x", "/d", "/f/test")]
    assert titles == ["a/test", "b/test", "photos", "x", "d", "test"]
    assert set_title("dtd", roots) == "Describable Textures (DTD)" and set_title("relative/name") == "name"


def test_preset_groups_name_the_near_and_far_sets_scored():
    near_far = preset_groups("openood:cifar10/cifar10", ["openood:cifar10/tin", "openood:cifar10/svhn"])
    assert near_far == {"near": ["openood:cifar10/tin"], "far": ["openood:cifar10/svhn"]}
    assert preset_groups("digits", ["letters"]) == {}


# --- method settings and runs (item 11, record_run) -------------------------------------------


def test_a_benchmark_request_builds_its_methods_with_the_settings():
    model = load_model("demo", device="cpu")
    settings = MethodSettings(odin_temperature=10.0, energy_temperature=2.0, gaia_z_layers=("layer1.0.bn1",))
    request = BenchmarkRequest(
        model, get_spec("demo"), demo_dataset("digits"), (), ("odin", "energy", "gaia_z"), settings=settings
    )
    odin, energy, gaia_z = request_methods(request)
    assert (odin.temperature, energy.temperature, gaia_z.layers) == (10.0, 2.0, ("layer1.0.bn1",))
    assert odin.input_std == get_spec("demo").std  # ε in pixel units, as without settings
    layered = BenchmarkRequest(model, get_spec("demo"), demo_dataset("digits"), (), ("gaia_z",), layers=("layer2",))
    assert request_methods(layered)[0].layers == ("layer2",)  # --layers as before


def test_the_report_says_the_method_settings():
    model = load_model("demo", device="cpu")
    digits, letters = (evenly_spaced(demo_dataset(name), 12) for name in ("digits", "letters"))
    methods = MethodSettings(energy_temperature=2.0).build(["energy"])
    result = evaluate_benchmark(model, digits, [letters], methods, keep_channels=False)
    line = MethodSettings.from_methods(methods).describe(["energy"])
    page = report_html(result, {}, (0.5,), (0.5,), ReportOptions(settings=line))
    assert "<p>Method settings: Energy T=2.</p>" in page
    assert "Method settings" not in report_html(result, {}, (0.5,), (0.5,))


def test_evaluate_records_its_run_with_the_models_name_in_the_cache(tmp_path, capsys):
    argv = ["evaluate", "--model", "demo", "--id", "digits", "--ood", "letters", "--methods", "msp"]
    assert main([*argv, "--cache-dir", str(tmp_path), "--limit", "20", "--no-progress"]) == 0
    (run,) = list_runs(ScoreCache(tmp_path))
    assert not run.inferred and run.model == "demo" and run.checkpoint == ""
    assert run.id_set.title == "digits" and [s.title for s in run.ood_sets] == ["letters"]
