"""Which data root a set is read from: the demo's sets ship with the package, others need an allowed root."""

import pytest

from gaia_core.app_support.sets import data_root_for, ships_with_package
from gaia_core.safety import PathNotAllowed
from gaia_core.safety.paths import ENV_VAR


@pytest.mark.parametrize("name", ["digits", "digits-train", "digits-test", "letters", "noise", "shifted"])
def test_demo_sets_ship_with_the_package_and_skip_the_root_check(name, monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "allowed"))
    assert ships_with_package(name)
    assert data_root_for(name, "/etc") == "/etc"  # never read for these sets


@pytest.mark.parametrize("name", ["cifar10", "cifar10-train", "svhn", "/some/folder", "digits-extra"])
def test_other_sets_are_read_only_under_an_allowed_root(name, monkeypatch, tmp_path):
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    monkeypatch.setenv(ENV_VAR, str(allowed))
    assert not ships_with_package(name)
    assert data_root_for(name, str(allowed / "data")) == str((allowed / "data").resolve())
    with pytest.raises(PathNotAllowed):
        data_root_for(name, str(allowed / ".." / "elsewhere"))
