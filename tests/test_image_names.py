"""Issue 21 item 5 in the library: images named by their file (by set and position without one),
classes by name, gallery captions cut to one line, a model input back to What if?'s pixels."""

import numpy as np
import pandas as pd
import torch

from gaia_core.app_support import image_browser as ib
from gaia_core.app_support.samples import caption_line, input_pixels, row_caption, run_class_names, sample_names
from gaia_core.data import demo_dataset
from gaia_core.data.base import SubsetDataset
from gaia_core.data.files import ImageFilesDataset
from gaia_core.evaluation.results import DatasetScores


def _folder_set(tmp_path):
    files = ["cat/a.png", "dog/b.png"]
    return ImageFilesDataset(tmp_path, files, [0, 1], "pets", lambda p: p, classes=["cat", "dog"])


def test_an_image_with_a_file_is_named_by_it_and_one_without_by_set_and_position(tmp_path):
    digits = SubsetDataset(demo_dataset("digits"), [7, 300])
    table = pd.DataFrame(
        {"set": ["pets", "digits", "digits"], "index": [1, 1, 0], "path": ["/d/pets/dog/b.png", "", ""]}
    )
    names = sample_names(table, {"pets": _folder_set(tmp_path), "digits": digits})
    assert list(names) == ["b.png", "digits #300", "digits #7"]


def test_class_names_come_from_the_folders_and_the_models_list_names_predictions(tmp_path):
    datasets = {"pets": _folder_set(tmp_path), "noise": demo_dataset("noise")}
    names = run_class_names(datasets, "pets", None)  # no list of the model's own: the ID set's folders
    assert names.model == ("cat", "dog") and names.sets["pets"] == ("cat", "dog") and names.sets["noise"] is None
    assert names.true_text("pets", 1) == "1 · dog" and names.pred_name(0) == "cat" and names.pred_name(5) == "5"
    assert names.true_name("noise", -1) == "−"
    own = run_class_names(datasets, "pets", ["tabby", "beagle", "owl"])
    assert own.pred_text(2) == "2 · owl" and own.sets["pets"] == ("cat", "dog")  # a folder's own names stay its labels'
    row = {"set": "pets", "index": 0, "path": "/d/pets/cat/a.png", "label": 0, "pred": 1}
    assert row_caption(row, datasets, names, 32) == "a.png · true cat · pred dog"
    assert row_caption({**row, "set": "noise", "label": -1}, datasets, names, 32) == "a.png · pred dog"


def test_a_caption_is_cut_to_its_width_the_file_name_first_keeping_its_end():
    assert caption_line("file.png", "cat", "dog", 32) == "file.png · true cat · pred dog"
    line = caption_line("ILSVRC2012_val_00000042.JPEG", "cat", "dog", 32)
    assert line == "ILS…2.JPEG · true cat · pred dog"  # 32 characters: the start, "…", the end
    long = caption_line("ILSVRC2012_val_00000042.JPEG", "golden retriever", "Labrador retriever", 32)
    assert len(long) <= 32 and long.count("…") == 3 and " · true go" in long and " · pred La" in long
    assert caption_line("digits #420", "3", "3", 32) == "digits #420 · true 3 · pred 3"


def test_a_model_input_goes_back_to_the_pixels_it_was_normalized_from():
    pixels = np.random.default_rng(0).random((3, 4, 4)).astype(np.float32)
    mean, std = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)
    x = (torch.from_numpy(pixels) - torch.tensor(mean)[:, None, None]) / torch.tensor(std)[:, None, None]
    assert np.allclose(input_pixels(x, mean, std), pixels, atol=1e-6)


def test_the_browser_frame_names_images_without_a_file_as_the_app_does():
    digits = SubsetDataset(demo_dataset("digits"), [10, 20, 30])
    table = pd.DataFrame(
        {
            "sample_id": ["digits:10", "digits:20", "digits:30"],
            "dataset": "digits",
            "index": [0, 1, 2],
            "path": ["", "", ""],
            "label": [1, 2, 3],
            "pred": [1, 2, 0],
            "confidence": [0.9, 0.8, 0.7],
            "msp": [0.1, 0.2, 0.3],
        }
    )
    scores = DatasetScores("digits", "digits", ["msp"], table)
    assert list(ib.build_frame(scores, {}, {"msp": 0.2})[ib.FILE]) == ["digits:10", "digits:20", "digits:30"]
    named = ib.build_frame(scores, {}, {"msp": 0.2}, datasets={"digits": digits})
    assert list(named[ib.FILE]) == ["digits #10", "digits #20", "digits #30"]
