"""What Inspect images and Misflagged samples read off the library: sample names and true labels, the
inspect table's label columns, and what the loader and the preprocessing did to an upload."""

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from gaia_core.app_support.samples import row_name, sample_names
from gaia_core.app_support.tables import image_summary
from gaia_core.app_support.upload_report import is_grey, loader_notes, preview, to_model_input
from gaia_core.data import demo_dataset
from gaia_core.data.base import SubsetDataset
from gaia_core.data.naming import demo_samples, item_name, sample_name, source_index, with_label
from gaia_core.demo.data import load_demo_set
from gaia_core.models import get_spec
from gaia_core.safety import load_images


def test_demo_samples_are_named_by_set_and_index_with_the_digit_they_show():
    catalog = {s.path: s for s in demo_samples()}
    digit = catalog["digits/0.png"]
    assert digit.name == "digits #0"
    assert digit.label == int(load_demo_set("digits")[1][0]) == 1  # the file is called 0 and shows a 1
    assert catalog["letters/1.png"].label == -1
    assert with_label(digit.name, digit.label) == "digits #0 · true label 1"
    assert with_label("letters #1", -1) == "letters #1"
    assert [s.name for s in demo_samples()][:2] == ["digits #0", "digits #1"]


def test_a_subset_item_is_named_by_its_position_in_the_whole_set():
    digits = demo_dataset("digits")
    subset = SubsetDataset(SubsetDataset(digits, [5, 40, 300]), [2, 0])
    assert [source_index(subset, i) for i in range(2)] == [300, 5]
    assert subset[0].sample_id == "digits:300"  # the sample id agrees
    table = pd.DataFrame({"set": ["digits", "digits"], "index": [0, 1], "label": [3, -1]})
    assert list(sample_names(table, {"digits": subset})) == ["digits #300", "digits #5"]
    assert row_name(table.iloc[0], {"digits": subset}, lambda k: f"class {k}") == "digits #300 · true label class 3"
    assert sample_name("noise", 7) == "noise #7"
    label = int(load_demo_set("digits")[1][300])
    assert item_name(subset, 0) == f"digits #300 · true label {label}"  # a dataset item, named the same way


def test_the_inspect_table_gains_true_label_and_correct_columns_only_when_some_image_has_a_label():
    table = pd.DataFrame(
        {"sample_id": ["a", "b", "c"], "label": [1, 4, -1], "pred": [1, 7, 2], "confidence": [0.9, 0.5, 0.4], "msp": 0}
    )
    summary = image_summary(table, ["msp"], str)
    assert list(summary["true label"]) == ["1", "4", ""]
    assert list(summary["correct"]) == [True, False, None]
    unlabelled = image_summary(table.assign(label=-1), ["msp"], str)
    assert "true label" not in unlabelled.columns and "correct" not in unlabelled.columns


def _decoded(image: Image.Image, fmt: str = "PNG", **save):
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **save)
    (loaded,), _ = load_images([("upload", buffer.getvalue())])
    return loaded


def test_a_colour_photo_is_described_on_its_way_to_the_demos_32_by_32_grey_input():
    photo = Image.fromarray(np.random.default_rng(0).integers(0, 255, (427, 640, 3), dtype=np.uint8))
    notes = loader_notes(_decoded(photo), get_spec("demo"))
    assert notes[0] == "640×427 colour picture → the model's 32×32 grey input"
    assert "colour converted to grey (the model reads one channel)" in notes
    assert notes[-1] == (
        "shorter side resized to 32 (47×32, downscaled 0.0749×); "
        "centre crop 32×32 keeps the middle 68% of the width and 100% of the height"
    )


def test_the_decoders_own_notes_come_first_and_a_grey_picture_of_the_right_size_is_used_as_is():
    frames = [Image.new("RGBA", (32, 32), (9, 9, 9, 0)), Image.new("RGBA", (32, 32), (200, 200, 200, 255))]
    notes = loader_notes(_decoded(frames[0], "GIF", save_all=True, append_images=frames[1:]), get_spec("demo"))
    assert notes[0] == "animated (2 frames): first frame used"
    assert notes[-2:] == ["32×32 grey picture → the model's 32×32 grey input", "already 32×32: used as is"]
    rgb = loader_notes(_decoded(Image.new("L", (32, 32), 50)), get_spec("cifar_resnet18"))
    assert "grey repeated to three channels" in rgb


@pytest.mark.parametrize(
    "size,expected",
    [
        ((16, 16), "shorter side resized to 32 (32×32, upscaled 2×); centre crop 32×32"),
        (
            (32, 64),
            "shorter side already 32; centre crop 32×32 keeps the middle 100% of the width and 50% of the height",
        ),
    ],
)
def test_resizing_and_cropping_are_described_as_torchvision_does_them(size, expected):
    assert to_model_input(*size, get_spec("demo")) == expected


def test_grey_means_no_colour_anywhere():
    assert is_grey(Image.new("RGB", (4, 4), (7, 7, 7)))
    assert not is_grey(Image.new("RGB", (4, 4), (7, 7, 8)))


def test_the_preview_of_an_upload_is_shrunk_when_large_and_enlarged_when_tiny():
    assert preview(Image.new("RGB", (4000, 3000), (1, 2, 3))).shape == (384, 512, 3)
    assert preview(Image.new("L", (8, 8), 5)).shape == (128, 128, 3)
