import os

import pytest

from gaia_core.safety.paths import PathNotAllowed, allowed_roots, resolve_allowed


@pytest.fixture
def root(tmp_path):
    (tmp_path / "root" / "data").mkdir(parents=True)
    (tmp_path / "root" / "data" / "w.safetensors").write_bytes(b"x")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("secret")
    return tmp_path / "root"


def test_file_inside_a_root_is_accepted(root):
    assert (
        resolve_allowed(str(root / "data" / "w.safetensors"), (root,), kind="file")
        == (root / "data" / "w.safetensors").resolve()
    )


def test_dotdot_escape_is_refused(root):
    with pytest.raises(PathNotAllowed, match="outside the allowed folders"):
        resolve_allowed(str(root / "data" / ".." / ".." / "outside" / "secret.txt"), (root,))


def test_symlink_escape_is_refused(root):
    (root / "link").symlink_to(root.parent / "outside" / "secret.txt")
    with pytest.raises(PathNotAllowed, match="outside the allowed folders"):
        resolve_allowed(str(root / "link"), (root,))


def test_symlink_within_the_root_is_accepted(root):
    (root / "alias").symlink_to(root / "data")
    assert resolve_allowed(str(root / "alias"), (root,), kind="dir") == (root / "data").resolve()


@pytest.mark.parametrize("text, message", [("", "no path"), ("a\x00b", "NUL"), ("/nonexistent/here", "outside")])
def test_bad_text_is_refused_with_a_reason(root, text, message):
    with pytest.raises(PathNotAllowed, match=message):
        resolve_allowed(text, (root,))


def test_missing_path_and_wrong_kind_are_refused(root):
    with pytest.raises(PathNotAllowed, match="does not exist"):
        resolve_allowed(str(root / "nope.pt"), (root,))
    with pytest.raises(PathNotAllowed, match="is not a file"):
        resolve_allowed(str(root / "data"), (root,), kind="file")


def test_roots_come_from_the_environment(root, tmp_path, monkeypatch):
    monkeypatch.setenv("GAIA_ALLOWED_ROOTS", os.pathsep.join([str(root), str(tmp_path / "outside")]))
    assert allowed_roots() == (root.resolve(), (tmp_path / "outside").resolve())
    assert resolve_allowed(str(tmp_path / "outside" / "secret.txt")).name == "secret.txt"
