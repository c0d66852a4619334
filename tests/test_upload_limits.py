"""Upload limits agree: the server's config, each uploader's limit, and the loaders' own checks."""

import tomllib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from gaia_core.safety import ImageLimits, ImageRejected, load_image
from gaia_core.safety.uploads import CHECKPOINT_UPLOAD_MB, IMAGE_UPLOAD_MB, MIB, SERVER_UPLOAD_MB

ROOT = Path(__file__).resolve().parents[1]


def test_server_limit_is_the_largest_uploader_limit_and_usage_stats_are_off():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == SERVER_UPLOAD_MB == max(IMAGE_UPLOAD_MB, CHECKPOINT_UPLOAD_MB)
    assert config["browser"]["gatherUsageStats"] is False


def test_image_cap_is_the_image_uploaders_limit_in_the_same_unit():
    assert ImageLimits().max_bytes == IMAGE_UPLOAD_MB * MIB
    too_big = b"\x89PNG" + bytes(IMAGE_UPLOAD_MB * MIB)
    with pytest.raises(ImageRejected, match=rf"{(len(too_big) / MIB):.1f} MB is over the {IMAGE_UPLOAD_MB} MB limit"):
        load_image(too_big, "big.png")


def test_each_uploader_states_its_own_limit():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.run()
    at.switch_page("app_pages/inspect.py")
    at.run()
    limits = {u.proto.label: u.proto.max_upload_size_mb for u in at.get("file_uploader")}
    assert limits == {"Upload images (PNG, JPEG, GIF, BMP, TIFF, WebP, PPM)": IMAGE_UPLOAD_MB}
