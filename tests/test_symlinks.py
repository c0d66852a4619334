"""Symlinks and unusable paths: a folder walk never loops, never leaves the allowed roots when
given them, and a path the system refuses is a one-path refusal with a short message."""

import io
import os

import pytest
from PIL import Image

from gaia_core.data import image_folder
from gaia_core.data.base import UnreadableSample
from gaia_core.data.files import image_list, walk_images
from gaia_core.data.transforms import image_transform
from gaia_core.errors import GaiaError
from gaia_core.evaluation.cache import ScoreCache
from gaia_core.evaluation.scoring import evaluate_dataset
from gaia_core.models import CheckpointError, get_spec, load_model, read_state_dict
from gaia_core.safety.paths import PathNotAllowed, path_kind, resolve_allowed
from gaia_core.scores import create

DEMO = get_spec("demo")


def _png(path, value=128):
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    Image.new("L", (28, 28), value).save(buffer, format="PNG")
    path.write_bytes(buffer.getvalue())


@pytest.fixture
def tree(tmp_path):
    """allowed/set/{a.png, sub/b.png}, and outside/secret.png beside the allowed root."""
    _png(tmp_path / "allowed" / "set" / "a.png")
    _png(tmp_path / "allowed" / "set" / "sub" / "b.png")
    _png(tmp_path / "outside" / "secret.png", 7)
    return tmp_path


def test_two_links_to_the_parent_end_with_each_file_once(tree):
    folder = tree / "allowed" / "set"
    (folder / "sub" / "up").symlink_to("..")
    (folder / "sub" / "up2").symlink_to("..")
    (folder / "self").symlink_to(".")
    listing = walk_images(folder)
    assert listing.files == ["a.png", "sub/b.png"]
    assert {path for path, _ in listing.skipped_folders} == {"self", "sub/up", "sub/up2"}
    assert len(image_folder(folder, image_transform(DEMO))) == 2


def test_a_link_leading_out_of_the_allowed_root_is_skipped_and_reported(tree):
    folder = tree / "allowed" / "set"
    (folder / "out").symlink_to(tree / "outside")
    (folder / "leak.png").symlink_to(tree / "outside" / "secret.png")
    roots = ((tree / "allowed").resolve(),)
    dataset = image_folder(folder, image_transform(DEMO), roots=roots)
    assert dataset.files == ["a.png", "leak.png", "sub/b.png"]  # out/ is not entered
    assert dataset.skipped_folders == [("out", "a link to a folder outside the allowed folders")]
    with pytest.raises(UnreadableSample, match="outside the allowed folders"):
        dataset[1]
    model = load_model("demo", device="cpu")
    result = evaluate_dataset(model, dataset, [create("msp")], cache=ScoreCache(tree / "cache"))
    assert list(result.table["sample_id"]) == ["a.png", "sub/b.png"]
    assert [(s.sample_id, s.reason) for s in result.skipped] == [
        ("leak.png", "a link to outside the allowed folders: not read")
    ]
    # The same folder without roots (the command line) follows the links; the cache keeps the two apart.
    free = image_folder(folder, image_transform(DEMO))
    assert free.files == ["a.png", "leak.png", "out/secret.png", "sub/b.png"]
    assert free.fingerprint() != dataset.fingerprint()


def test_a_link_inside_the_allowed_root_is_followed(tree):
    folder = tree / "allowed" / "set"
    _png(tree / "allowed" / "more" / "c.png")
    (folder / "more").symlink_to(tree / "allowed" / "more")
    dataset = image_folder(folder, image_transform(DEMO), roots=((tree / "allowed").resolve(),))
    assert dataset.files == ["a.png", "more/c.png", "sub/b.png"]
    assert dataset[1].sample_id == "more/c.png"


def test_a_folder_outside_the_roots_is_refused(tree):
    with pytest.raises(PathNotAllowed, match="outside the allowed folders"):
        image_folder(tree / "outside", image_transform(DEMO), roots=((tree / "allowed").resolve(),))


def test_an_image_list_entry_leading_out_is_not_read(tree):
    (tree / "allowed" / "list.txt").write_text("set/a.png 0\n../outside/secret.png 1\n")
    dataset = image_list(
        tree / "allowed" / "list.txt", tree / "allowed", image_transform(DEMO), roots=(tree / "allowed",)
    )
    assert dataset[0].sample_id == "set/a.png"
    with pytest.raises(UnreadableSample, match="outside the allowed folders"):
        dataset[1]


LONG = "/" + "x" * 5000


def test_a_5000_character_path_is_a_short_refusal_of_that_path(tmp_path):
    with pytest.raises(PathNotAllowed) as refusal:
        resolve_allowed(str(tmp_path) + LONG, (tmp_path,))
    message = str(refusal.value)
    assert "File name too long" in message and "(5" in message and len(message) < 300
    with pytest.raises(GaiaError) as refusal:
        image_folder(str(tmp_path) + LONG, image_transform(DEMO))
    assert len(str(refusal.value)) < 300
    with pytest.raises(GaiaError) as refusal:
        image_list(str(tmp_path) + LONG, tmp_path, image_transform(DEMO))
    assert len(str(refusal.value)) < 300
    with pytest.raises(GaiaError) as refusal:
        read_state_dict(str(tmp_path) + LONG + ".pt")
    assert len(str(refusal.value)) < 300


def test_a_symlink_loop_and_a_forbidden_folder_are_refusals_not_os_errors(tmp_path):
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    with pytest.raises(PathNotAllowed, match="cannot"):
        resolve_allowed(str(tmp_path / "loop"), (tmp_path,))
    with pytest.raises(PathNotAllowed, match="Too many levels of symbolic links"):
        path_kind(tmp_path / "loop")
    with pytest.raises(GaiaError):
        load_model("demo", tmp_path / "loop", device="cpu")
    if os.geteuid() != 0:  # root reads everything
        (tmp_path / "closed").mkdir()
        (tmp_path / "closed").chmod(0)
        try:
            with pytest.raises(PathNotAllowed, match="Permission denied"):
                resolve_allowed(str(tmp_path / "closed" / "w.pt"), (tmp_path,))
        finally:
            (tmp_path / "closed").chmod(0o755)


def test_a_missing_checkpoint_is_still_not_found(tmp_path):
    with pytest.raises(CheckpointError, match="checkpoint not found"):
        read_state_dict(tmp_path / "nope.pt")
