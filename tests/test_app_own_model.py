"""A researcher's own checkpoint in the app (issue 21 items 1, 6, 7, 11): its preprocessing read
from a sidecar or the safetensors metadata, or entered, used for every set and upload and shown on
every page; an upload named by its own file name; the sets offered fit the model's classes; the
methods' settings reach the scores, the tables' caption and the cache; the run is recorded."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import torch
from helpers.app import SAMPLES, assert_clean, choose_cifar_weights, new_app, open_page, settle, shown, texts
from safetensors.torch import save, save_file

from app_pages.shell import job_progress
from app_pages.shell.page_table import PAGES
from gaia_core.data.input_config import config_transform, describe, read_input_config
from gaia_core.evaluation.cache import ScoreCache
from gaia_core.evaluation.runs import list_runs
from gaia_core.models.cifar_resnet import cifar_resnet18
from gaia_core.safety.paths import ENV_VAR
from gaia_core.scores.settings import MethodSettings

pytestmark = pytest.mark.usefixtures("private_score_cache")
SIDECAR = {"input_size": 16, "crop": "squash", "mean": [0.5, 0.4, 0.3], "std": [0.2, 0.25, 0.3]}


def _images(folder: Path, count: int = 4, kind: str = "letters") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(count):
        shutil.copy(SAMPLES / kind / f"{k}.png", folder / f"{k}.png")
    return folder


def _load_path(at, path: Path):
    at.text_input(key="sb_ckpt_path").set_value(str(path))
    at.button(key="sb_load").click()
    at.run()
    return at


def _score(at, id_set: str, ood_sets: list[str], methods: list[str]):
    at = open_page(at, "app_pages/id_vs_ood.py")
    at.session_state["id_set"] = id_set
    at.run()
    at.multiselect(key="ood_sets").set_value(ood_sets)
    at.multiselect(key="methods").set_value(methods)
    at.run()
    at.button(key="score_button").click()
    at.run()
    at = settle(at)
    job = job_progress.job_runner().get(at.session_state["scoring"])
    return at, (job.result if job is not None and job.ok else None)


@pytest.fixture
def allowed(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    return tmp_path


def test_a_sidecars_preprocessing_is_used_for_every_set_and_shown_on_every_page(allowed):
    save_file(cifar_resnet18(10).state_dict(), allowed / "r18.safetensors")
    (allowed / "r18.json").write_text(json.dumps(SIDECAR))
    photos = _images(allowed / "photos")
    stated = read_input_config(allowed / "r18.safetensors")
    at = choose_cifar_weights("path")
    at.session_state["max_per_set"] = 10
    at = _load_path(at, allowed / "r18.safetensors")
    assert_clean(at)
    line = describe(stated)
    assert "stated in sidecar r18.json" in line and line in shown(texts(at.sidebar.caption))
    for page in PAGES:
        at = open_page(at, page.path)
        assert line in shown(texts(at.main.caption)), page.title  # the page's first line
    at.text_area(key="extra_folders").set_value(str(photos))
    at.run()
    at, scored = _score(at, "digits", [str(photos.resolve())], ["msp", "energy"])
    assert_clean(at)
    folder_set = scored.datasets["photos"]
    assert repr(folder_set.transform) == repr(config_transform(stated))  # image files: exactly as stated
    assert folder_set[0].image.shape == (3, 16, 16)
    assert scored.datasets["digits"][0].image.shape == (3, 16, 16)  # the demo's arrays: the stated size
    (run,) = [r for r in list_runs(ScoreCache()) if r.model == "cifar_resnet18"]
    assert run.checkpoint == "r18.safetensors" and [s.title for s in run.ood_sets] == ["photos"]


def test_entered_preprocessing_is_used_and_a_bad_entry_is_refused_with_the_previous_kept(allowed):
    save_file(cifar_resnet18(10).state_dict(), allowed / "r18.safetensors")  # states nothing
    at = choose_cifar_weights("path")
    at = _load_path(at, allowed / "r18.safetensors")
    assert "— assumed: CIFAR's" in shown(texts(at.sidebar.caption))
    at.radio(key="sb_pre_mode").set_value("entered")
    at.run()
    at.number_input(key="sb_pre_size").set_value(20)
    at.selectbox(key="sb_pre_crop").set_value("center")
    at.text_input(key="sb_pre_mean").set_value("0.5, 0.5, 0.5")
    at.text_input(key="sb_pre_std").set_value("0.25, 0.25, 0.25")
    at.button(key="sb_load").click()
    at.run()
    assert_clean(at)
    chosen = at.session_state["model_choice"].input_config
    assert '"source": "entered by you"' in chosen and '"input_size": 20' in chosen
    assert "20×20, centre crop at full resolution (no resize)" in shown(texts(at.main.caption))
    for key, value, message in (
        ("sb_pre_std", "0, 0.25, 0.25", "std must be above 0"),
        ("sb_pre_size", 0, "input_size must be between 1 and 4096 pixels, got 0"),
    ):
        widget = at.text_input(key=key) if key == "sb_pre_std" else at.number_input(key=key)
        widget.set_value(value)
        at.button(key="sb_load").click()
        at.run()
        assert message in texts(at.sidebar.error)
        assert at.session_state["model_choice"].input_config == chosen  # the previous one stays


def test_an_upload_is_named_by_its_file_name_and_its_metadata_preprocessing_read():
    metadata = {"input_size": "24", "mean": "[0.5, 0.5, 0.5]", "std": "[0.5, 0.5, 0.5]"}
    data = save(cifar_resnet18(10).state_dict(), metadata=metadata)
    at = choose_cifar_weights("upload")
    at.file_uploader(key="sb_ckpt_upload").upload("my net.safetensors", data, "application/octet-stream")
    at.run()
    at.button(key="sb_load").click()
    at.run()
    assert_clean(at)
    captions = shown(texts(at.sidebar.caption))
    assert "In use: **cifar_resnet18 (my net.safetensors) on cpu" in captions
    assert "24×24" in captions and "stated in checkpoint metadata" in captions
    digest = at.session_state["model_choice"].checkpoint_sha256
    assert digest not in captions and digest not in shown(texts(at.main.caption))

    state = cifar_resnet18(10).state_dict()
    state["fc.weight"] = torch.zeros(10, 3)  # a layer of the wrong shape: the loader names the file
    broken = save(state)
    at.file_uploader(key="sb_ckpt_upload").upload("broken net.safetensors", broken, "application/octet-stream")
    at.run()
    at.button(key="sb_load").click()
    at.run()
    error = shown(texts(at.sidebar.error))
    assert "broken net.safetensors" in error
    assert hashlib.sha256(broken).hexdigest() not in error


def test_a_10_class_checkpoint_of_an_imagenet_architecture_is_offered_the_sets_that_fit(allowed):
    from torchvision.models import resnet18

    save_file(resnet18(num_classes=10).state_dict(), allowed / "r18_10.safetensors")
    at = new_app()
    at.selectbox(key="sb_model").set_value("resnet18")
    at.run()
    at.radio(key="sb_weights").set_value("path")
    at.run()
    at = _load_path(at, allowed / "r18_10.safetensors")
    assert_clean(at)
    at = open_page(at, "app_pages/id_vs_ood.py")
    assert at.session_state["id_set"] != "imagenet"
    assert "ImageNet-1k" not in at.selectbox(key="id_set").options
    assert {"CIFAR-10", "Handwritten digits (ID)"} <= set(at.selectbox(key="id_set").options)
    assert not {"inaturalist", "sun"} & set(at.session_state["ood_sets"])


def test_an_id_set_with_more_classes_than_the_model_is_warned_and_not_scored(allowed):
    save_file(cifar_resnet18(3).state_dict(), allowed / "r18_3.safetensors")
    five = allowed / "five"
    for name in "abcde":
        _images(five / name, 1, "digits")
    at = choose_cifar_weights("path")
    at.session_state["max_per_set"] = 10
    at = _load_path(at, allowed / "r18_3.safetensors")
    at.text_area(key="extra_folders").set_value(str(five))
    at.run()
    at = open_page(at, "app_pages/id_vs_ood.py")
    at.session_state["id_set"] = str(five.resolve())
    at.run()
    at.multiselect(key="ood_sets").set_value(["letters"])
    at.multiselect(key="methods").set_value(["msp"])
    at.run()
    at.button(key="score_button").click()
    at.run()
    assert not at.exception
    assert "has labels up to 4 (5 classes) but the model has 3 classes" in shown(texts(at.warning))
    assert "scoring" not in at.session_state  # no job started


def test_method_settings_reach_the_scores_the_caption_and_the_cache():
    at = new_app()
    at.session_state["max_per_set"] = 10
    at.number_input(key="set_odin_t").set_value(10.0)
    at.number_input(key="set_odin_eps").set_value(0.001)
    at.number_input(key="set_energy_t").set_value(2.0)
    at.number_input(key="set_react_p").set_value(80.0)
    at.toggle(key="set_paper_layers").set_value(False)
    at.run()
    picker = at.multiselect(key="set_gaia_z_layers")
    layers = ["layer1.0.bn1", "layer2.0.bn1"]
    picker.set_value(layers)
    at.run()
    methods = ["odin", "energy", "react", "gaia_z"]
    at, scored = _score(at, "digits", ["letters"], methods)
    assert_clean(at)
    settings = MethodSettings(10.0, 0.001, 2.0, 80.0, gaia_z_layers=tuple(layers))
    assert at.session_state["scoring"].settings == settings
    odin, energy, react, gaia_z = scored.methods
    assert (odin.temperature, odin.epsilon, energy.temperature, react.percentile) == (10.0, 0.001, 2.0, 80.0)
    assert gaia_z.layers == tuple(layers)
    caption = shown(texts(at.caption))
    assert (
        "Settings: ODIN T=10 ε=0.001 · Energy T=2 · ReAct p80 · GAIA-Z layers: layer1.0.bn1, layer2.0.bn1." in caption
    )

    at.toggle(key="set_paper_layers").set_value(True)
    at.number_input(key="set_energy_t").set_value(1.0)
    at.run()
    at, default = _score(at, "digits", ["letters"], methods)
    assert at.session_state["scoring"].settings == MethodSettings(10.0, 0.001, 1.0, 80.0)
    changed = scored.result.id_scores.scores("energy") != default.result.id_scores.scores("energy")
    assert changed.any()  # not the cached scores of the other settings


def test_a_method_that_cannot_apply_to_the_model_is_warned_in_one_line_and_the_others_scored(allowed, monkeypatch):
    from helpers.pool_head import build

    monkeypatch.setenv("GAIA_MODEL_FACTORIES", "Pool head=helpers.pool_head:build")
    torch.save(build().state_dict(), allowed / "pool_head.pt")
    at = new_app()
    at.session_state["max_per_set"] = 10
    at.selectbox(key="sb_model").set_value("helpers.pool_head:build")
    at.run()
    at.radio(key="sb_weights").set_value("path")
    at.run()
    at.number_input(key="sb_num_classes").set_value(10)
    at = _load_path(at, allowed / "pool_head.pt")
    assert_clean(at)
    at, result = _score(at, "digits", ["noise"], ["gaia_z", "msp", "gradnorm"])
    assert_clean(at)
    assert result is not None and result.result.methods == ["gaia_z", "msp"]
    warnings = [w for w in shown(texts(at.warning)).splitlines() if "skipped" in w]
    assert len(warnings) == 1 and warnings[0].startswith("GradNorm skipped: layer 'classifier.0' is fed a")
