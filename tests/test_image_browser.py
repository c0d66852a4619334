"""The browser over every scored image: one frame, filters, sorting, pages, CSV."""

import io

import numpy as np
import pandas as pd
import pytest

from gaia_core.app_support.image_browser import (
    CORRECT,
    FILE,
    FLAGGED,
    PRED,
    TRUE,
    BrowserFilters,
    SortOrder,
    build_frame,
    export_csv,
    percentile_column,
    query,
)
from gaia_core.errors import AppSupportError
from gaia_core.evaluation.scoring import DatasetScores

NAMES = ["airplane", "automobile", "bird", "cat"]
THRESHOLDS = {"msp": 0.35, "gaia_z": 3.5}


def _scores(name, labels, preds, msp, gaia_z, paths=None):
    n = len(labels)
    table = pd.DataFrame(
        {
            "sample_id": [f"{name}:{i}" for i in range(n)],
            "dataset": name,
            "index": np.arange(n) * 10,
            "path": paths or [""] * n,
            "label": labels,
            "pred": preds,
            "confidence": np.full(n, 0.5),
            "msp": msp,
            "gaia_z": gaia_z,
        }
    )
    return DatasetScores(name, name, ["msp", "gaia_z"], table)


@pytest.fixture
def frame():
    id_scores = _scores(
        "photos",
        [0, 1, 2, 3],
        [0, 1, 0, 3],
        [0.1, 0.2, 0.3, 0.4],
        [1.0, 2.0, 3.0, 4.0],
        ["/d/photos/airplane/A.png", "/d/photos/automobile/b.png", "/d/photos/bird/c.png", "/d/photos/cat/d.png"],
    )
    ood = _scores("letters", [-1, -1, -1], [1, 2, 3], [0.25, 0.5, 0.05], [5.0, 0.5, 3.5])
    return build_frame(id_scores, {"letters": ood}, THRESHOLDS, class_names=NAMES)


def test_every_image_of_every_set_has_one_row_with_names_verdicts_and_percentiles(frame):
    assert list(frame["set"]) == ["photos"] * 4 + ["letters"] * 3
    assert list(frame[FILE]) == ["A.png", "b.png", "c.png", "d.png", "letters:0", "letters:1", "letters:2"]
    assert list(frame[TRUE][:4]) == ["0 · airplane", "1 · automobile", "2 · bird", "3 · cat"]
    assert list(frame[TRUE][4:]) == ["−"] * 3
    assert list(frame[PRED]) == [
        "0 · airplane",
        "1 · automobile",
        "0 · airplane",
        "3 · cat",
        "1 · automobile",
        "2 · bird",
        "3 · cat",
    ]
    assert frame[CORRECT].tolist()[:4] == [True, True, False, True] and frame[CORRECT][4:].isna().all()
    assert list(frame[percentile_column("msp")][4:]) == [50.0, 100.0, 0.0]
    assert list(frame[FLAGGED]) == [0, 0, 0, 2, 1, 1, 0]  # strictly above the threshold flags
    assert list(frame["position"]) == [0, 1, 2, 3, 0, 1, 2] and list(frame["index"][4:]) == [0, 10, 20]


def test_filters_combine_set_class_prediction_correctness_ranges_flags_and_name(frame):
    def files(**filters):
        return list(query(frame, BrowserFilters(**filters), page_size=100).rows[FILE])

    assert files(correct=False) == ["c.png"]
    assert files(correct=True) == ["A.png", "b.png", "d.png"]
    assert files(sets=("letters",)) == ["letters:0", "letters:1", "letters:2"]
    assert files(true_classes=("3 · cat",)) == ["d.png"]
    assert files(predicted_classes=("3 · cat",)) == ["d.png", "letters:2"]
    assert files(min_flagged=1) == ["d.png", "letters:0", "letters:1"]
    assert files(min_flagged=2) == ["d.png"]
    assert files(name_contains="A.PNG") == ["A.png"]
    assert files(score_ranges=(("gaia_z", 2.0, 3.5),)) == ["b.png", "c.png", "letters:2"]
    assert files(percentile_ranges=(("msp", 90.0, 100.0),)) == ["d.png", "letters:1"]
    assert files(sets=("photos",), min_flagged=1, correct=True) == ["d.png"]


def test_sorting_by_a_score_or_a_text_column_with_ties_in_frame_order(frame):
    by_score = query(frame, sort=SortOrder("gaia_z", descending=True), page_size=100).rows
    assert list(by_score["gaia_z"]) == [5.0, 4.0, 3.5, 3.0, 2.0, 1.0, 0.5]
    by_flags = query(frame, sort=SortOrder(FLAGGED, descending=True), page_size=100).rows
    assert list(by_flags[FILE]) == ["d.png", "letters:0", "letters:1", "A.png", "b.png", "c.png", "letters:2"]
    by_name = query(frame, sort=SortOrder(FILE, descending=False), page_size=100).rows
    assert list(by_name[FILE])[:2] == ["A.png", "b.png"]
    with pytest.raises(AppSupportError, match="no such column"):
        query(frame, sort=SortOrder("nope"))


def test_pages_count_the_matches_and_a_page_past_the_end_shows_the_last(frame):
    first = query(frame, page=0, page_size=3)
    assert (first.total, first.pages, len(first.rows)) == (7, 3, 3)
    last = query(frame, page=99, page_size=3)
    assert last.page == 2 and list(last.rows[FILE]) == ["letters:2"]
    empty = query(frame, BrowserFilters(name_contains="zzz"))
    assert (empty.total, empty.pages, len(empty.rows)) == (0, 1, 0)


def test_csv_export_writes_the_selection_with_names_and_every_methods_columns(frame):
    text = export_csv(frame, BrowserFilters(min_flagged=1), SortOrder("msp"))
    table = pd.read_csv(io.StringIO(text))
    assert list(table["file name"]) == ["letters:1", "d.png", "letters:0"]
    assert {"set", "index", "true class", "predicted class", "msp", "msp percentile", "gaia_z percentile"} <= set(
        table.columns
    )


def test_unknown_methods_are_refused():
    scores = _scores("a", [0], [0], [0.1], [0.2])
    with pytest.raises(AppSupportError, match="not in the table"):
        build_frame(scores, {}, {"energy": 1.0})
    frame = build_frame(scores, {}, {"msp": 0.0})
    with pytest.raises(AppSupportError, match="no column 'energy percentile'"):
        query(frame, BrowserFilters(percentile_ranges=(("energy", 0, 50),)))


def test_a_sets_own_label_names_override_the_models_for_its_true_classes():
    scores = _scores("photos", [1, -1], [1, 1], [0.1, 0.2], [0.1, 0.2])
    frame = build_frame(scores, {}, {}, class_names=NAMES, set_class_names={"photos": ["ant", "bee"]})
    assert list(frame[TRUE]) == ["1 · bee", "−"] and list(frame[PRED]) == ["1 · automobile"] * 2
