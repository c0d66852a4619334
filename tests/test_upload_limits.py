"""Upload limits agree: the server's config, each uploader's limit, and the loaders' own checks."""

import tomllib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from gaia_core.models.checkpoint import CheckpointError, read_state_dict
from gaia_core.safety import ImageLimits, ImageRejected, load_image
from gaia_core.safety.uploads import CHECKPOINT_UPLOAD_MB, IMAGE_UPLOAD_MB, MB, SERVER_UPLOAD_MB

ROOT = Path(__file__).resolve().parents[1]


def test_server_limit_is_the_largest_uploader_limit_and_usage_stats_are_off():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == SERVER_UPLOAD_MB == max(IMAGE_UPLOAD_MB, CHECKPOINT_UPLOAD_MB)
    assert config["browser"]["gatherUsageStats"] is False


def test_a_refusal_counts_megabytes_as_the_uploaders_chip_does():
    # The browser's chip reads 20.5MB for 20,500,000 bytes (10**6 bytes per MB); 2**20 would say 19.6.
    assert ImageLimits().max_bytes == IMAGE_UPLOAD_MB * MB == 20_000_000
    too_big = b"\x89PNG" + bytes(20_500_000 - 4)
    with pytest.raises(ImageRejected, match=r"big.png: 20.5 MB is over the 20 MB limit"):
        load_image(too_big, "big.png")


def test_an_image_at_the_stated_limit_is_not_refused_for_its_size():
    at_limit = b"\x89PNG" + bytes(IMAGE_UPLOAD_MB * MB - 4)
    with pytest.raises(ImageRejected) as refusal:
        load_image(at_limit, "limit.png")  # refused, but as a broken PNG, not as too large
    assert "limit" not in str(refusal.value).split(":", 1)[1]


def test_a_checkpoint_over_its_limit_is_refused_in_the_same_megabytes(tmp_path):
    path = tmp_path / "big.pt"
    path.write_bytes(bytes(2_500_000))
    with pytest.raises(CheckpointError, match=r"big.pt is 2.5 MB, over the 2.0 MB limit"):
        read_state_dict(path, max_bytes=2 * MB)


def test_each_uploader_states_its_own_limit():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.run()
    at.switch_page("app_pages/inspect.py")
    at.run()
    limits = {u.proto.label: u.proto.max_upload_size_mb for u in at.get("file_uploader")}
    assert limits == {"Upload images (PNG, JPEG, GIF, BMP, TIFF, WebP, PPM)": IMAGE_UPLOAD_MB}
    at.switch_page("app_pages/what_if.py")
    at.run()
    at.radio(key="whatif_source").set_value("An upload").run()
    limits = {u.proto.label: u.proto.max_upload_size_mb for u in at.get("file_uploader")}
    assert limits == {"Upload one image": IMAGE_UPLOAD_MB}
