"""Settings that keep one server fast for a whole class: one torch thread per session by default
(configurable), no full garbage collection after every rerun."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import torch

from gaia_core.device import SERVER_THREADS_ENV, configure_server_threads
from gaia_core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_server_uses_one_torch_thread_unless_told_otherwise(monkeypatch, restore_threads):
    monkeypatch.delenv(SERVER_THREADS_ENV, raising=False)
    assert configure_server_threads() == 1
    assert torch.get_num_threads() == 1
    monkeypatch.setenv(SERVER_THREADS_ENV, "2")
    assert configure_server_threads() == 2
    assert torch.get_num_threads() == 2


def test_a_bad_thread_count_is_a_user_error_naming_the_variable(monkeypatch, restore_threads):
    monkeypatch.setenv(SERVER_THREADS_ENV, "many")
    with pytest.raises(ConfigError, match=SERVER_THREADS_ENV):
        configure_server_threads()


def test_the_app_does_not_collect_garbage_after_every_rerun():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["postScriptGC"] is False
