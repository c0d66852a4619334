"""What a class on one server must not pay for on every student action: work repeated across
sessions (the ID images' attribution maps) and downloads nobody asked for (PNG encoding)."""

from __future__ import annotations

import pytest
from helpers.app import SAMPLES, new_app, open_page

from app_pages.widgets import attribution_views, image_detail


@pytest.fixture
def counted(monkeypatch):
    """Images passed to Captum and PNGs encoded for download buttons, counted."""
    calls = {"attributed_images": 0, "png": 0}
    attribute, grid_png, to_png_bytes = (
        attribution_views.attribute,
        attribution_views.grid_png,
        image_detail.to_png_bytes,
    )

    def counting_attribute(model, x, *args, **kwargs):
        calls["attributed_images"] += len(x)
        return attribute(model, x, *args, **kwargs)

    def counting(fn):
        def wrapped(*args, **kwargs):
            calls["png"] += 1
            return fn(*args, **kwargs)

        return wrapped

    monkeypatch.setattr(attribution_views, "attribute", counting_attribute)
    monkeypatch.setattr(attribution_views, "grid_png", counting(grid_png))
    monkeypatch.setattr(image_detail, "to_png_bytes", counting(to_png_bytes))
    return calls


pytestmark = pytest.mark.usefixtures("private_score_cache")


def test_a_second_student_uploading_an_image_reuses_the_id_maps_and_encodes_no_download(counted):
    first = open_page(new_app(), "app_pages/inspect.py")  # the ID reference and its maps are ready
    assert first.get("download_button"), "the comparison grid did not render"
    counted.update(attributed_images=0, png=0)

    second = open_page(new_app(), "app_pages/inspect.py")
    second.file_uploader(key="inspect_upload").upload(
        "mine.png", (SAMPLES / "digits" / "3.png").read_bytes(), "image/png"
    ).run()
    assert not second.exception, [e.value for e in second.exception]
    inspected = 3  # the upload and the two default samples
    # Only this student's images are attributed (its detail map and its row of the grid); the six ID
    # images next to them come from the first student's cache.
    assert 0 < counted["attributed_images"] <= inspected + 1
    assert counted["png"] == 0  # the grid and map PNGs are encoded when downloaded, not per rerun
