"""The app's model picker offers timm's convolutional architectures and the operator's factories."""

from pathlib import Path

import pytest
from helpers.app import texts
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _offline(tmp_path, monkeypatch):
    monkeypatch.setenv("GAIA_CACHE_DIR", str(tmp_path / "scores"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))


def test_timm_model_is_picked_by_name_and_missing_weights_name_the_hf_cache():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.run()
    at.sidebar.selectbox(key="sb_model").set_value("timm").run()
    picker = at.sidebar.selectbox(key="sb_timm")
    assert "efficientnet_b0" in picker.options and "convnext_atto" in picker.options
    picker.set_value("resnet18").run()
    assert at.sidebar.radio(key="sb_weights").value == "pretrained"
    at.sidebar.button(key="sb_load").click().run()
    errors = texts(at.error)  # as shown: the file names in it are escaped for Markdown
    assert "model.safetensors" in errors and "models--timm--resnet18" in errors
    assert at.session_state["model_choice"].name == "demo"  # the previous model stays in use


def test_operator_factories_appear_in_the_picker(monkeypatch):
    monkeypatch.setenv("GAIA_MODEL_FACTORIES", "Tiny test net=gaia_core.demo.model:build_demo_model")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.run()
    options = at.sidebar.selectbox(key="sb_model").options
    assert "Tiny test net" in options  # the short name; the sidebar's caption and tooltip say the rest
