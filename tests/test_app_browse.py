"""Issue 21 items 5 and 9 in the app: class names and file names on every image, and Browse images, a
browser over every scored image that sends any of them to Inspect images or What if?."""

import re

import numpy as np
import pytest
from helpers.app import assert_clean, image_captions, new_app, open_page, png_bytes, settle, texts

from app_pages.shell.job_progress import job_runner
from app_pages.shell.set_choices import ALL_METHODS
from app_pages.widgets.gallery import CAPTION_CHARS
from gaia_core.app_support import image_browser as ib

pytestmark = pytest.mark.usefixtures("private_score_cache")

BROWSE = "app_pages/browse.py"


def _scored(at, per_set: int = 60):
    at = open_page(at, "app_pages/id_vs_ood.py")
    at.number_input(key="max_per_set").set_value(per_set).run()
    at.button(key="score_button").click().run()
    settle(at, timeout_s=400)
    assert "Scored" in texts(at.success)
    return at


def _frame(at):
    scored = job_runner().get(at.session_state["scoring"]).result
    return scored, scored.derived[("browser", 0.95)]


def _table(at):
    return next(d.value for d in at.dataframe if "browse_table" in str(d.proto.id))


def test_browse_says_to_score_on_id_vs_ood_when_nothing_is_scored():
    at = open_page(new_app(), BROWSE)
    assert_clean(at)
    assert at.title[0].value == "Browse images"
    assert "Nothing is scored yet" in texts(at.info) and "ID vs OOD" in texts(at.info)
    assert at.button(key="browse_score") is not None


def test_browse_shows_every_scored_image_and_filters_them_by_prediction_flags_and_name():
    at = open_page(_scored(new_app()), BROWSE)
    assert_clean(at)
    scored, frame = _frame(at)
    assert len(frame) == sum(len(d) for d in scored.datasets.values()) == 360
    assert f"{len(frame):,} of {len(frame):,} images" in texts(at.subheader)
    # The demo's images have no file: named "digits #420" as everywhere, never "digits:420".
    assert frame[ib.FILE].str.fullmatch(r"[a-z]+ #\d+").all()
    captions = image_captions(at)
    assert re.search(r"digits #\d+ · true \d · pred \d", captions) and "digits:" not in captions

    at.segmented_control(key="browse_correct").set_value("wrong").run()
    assert_clean(at)
    wrong = frame[frame[ib.CORRECT].eq(False).fillna(False)]
    assert f"{len(wrong):,} of {len(frame):,} images" in texts(at.subheader)
    table = _table(at)
    assert set(table[ib.FILE]) == set(wrong[ib.FILE]) and (table[ib.SET] == "digits").all()

    at.segmented_control(key="browse_correct").set_value("all")
    at.number_input(key="browse_min_flagged").set_value(7).run()
    flagged = frame[frame[ib.FLAGGED] >= 7]
    assert f"{len(flagged):,} of {len(frame):,} images" in texts(at.subheader)
    assert (_table(at)[ib.FLAGGED] >= 7).all()

    at.number_input(key="browse_min_flagged").set_value(0)
    at.text_input(key="browse_name").set_value("noise #1").run()
    named = frame[frame[ib.FILE].str.contains("noise #1", regex=False)]
    assert f"{len(named):,} of {len(frame):,} images" in texts(at.subheader) and len(named) > 1
    (csv,) = [b for b in at.get("download_button") if "browse_csv" in b.proto.id]
    assert not csv.proto.disabled


def test_an_image_opened_in_browse_goes_to_inspect_and_what_if_with_the_scores_it_was_scored_with():
    at = open_page(_scored(new_app()), BROWSE)
    frame = _frame(at)[1]
    row = frame[frame[ib.SET] == "letters"].iloc[5]
    at.session_state["browse_focus"] = ("letters", int(row[ib.INDEX]))
    at.run()
    assert_clean(at)
    assert f"Flagged as OOD by {int(row[ib.FLAGGED])} of 8 methods" in texts(at.markdown)

    at.button(key="browse_detail_send_inspect").click().run()
    assert at.title[0].value == "Inspect images"  # the button opened Inspect
    # The sidebar's settings survive the switch (Streamlit resets widget state on a page switch).
    assert at.number_input(key="max_per_set").value == 60
    at = open_page(at, "app_pages/inspect.py")
    assert_clean(at)
    assert f"Sent here: {row[ib.FILE]} (letters)" in texts(at.subheader)
    (verdicts,) = [d.value for d in at.dataframe if "score" in d.value.columns]
    assert np.allclose(verdicts["score"].to_numpy(), [row[m] for m in ALL_METHODS])

    at.button(key="inspect_sent_detail_send_what_if").click().run()
    assert at.title[0].value == "What if?"
    assert at.number_input(key="max_per_set").value == 60
    at = open_page(at, "app_pages/what_if.py")
    assert_clean(at)
    assert at.radio(key="whatif_source").value == "The image sent here"
    assert f"Flagged as OOD by **{int(row[ib.FLAGGED])} of 8** methods" in texts(at.markdown)  # at strength 0

    at = open_page(at, "app_pages/inspect.py")
    at.button(key="inspect_sent_forget").click().run()
    assert "Sent here" not in texts(at.subheader)
    assert "inspect_sent" not in at.session_state


def test_a_misflagged_image_has_the_same_open_in_inspect_button():
    at = open_page(_scored(new_app()), "app_pages/misflagged.py")
    at.slider(key="mis_tpr").set_value(0.8).run()
    id_table = next(d.value for d in at.dataframe if "mis_id_rows" in str(d.proto.id))
    index = int(id_table.iloc[0]["image"].split("#")[1])
    at.session_state["mis_focus"] = (f"digits:{index}", "digits")
    at.run()
    assert_clean(at)
    at.button(key="mis_detail_send_inspect").click().run()
    at = open_page(at, "app_pages/inspect.py")
    assert f"Sent here: digits #{index} (digits)" in texts(at.subheader)


def _pets(root):
    """A folder set with its labels in sub-folders: cat/ and dog/, three photos each."""
    rng = np.random.default_rng(0)
    for k, name in enumerate(("cat", "dog")):
        (root / "pets" / name).mkdir(parents=True)
        for i in range(3):
            picture = (rng.random((24, 24)) * 120 + 60 * k).astype(np.uint8)
            (root / "pets" / name / f"{name}_{i}.png").write_bytes(png_bytes(picture))
    return root / "pets"


def test_a_folder_sets_images_show_their_file_names_and_sub_folder_class_names(tmp_path, monkeypatch):
    monkeypatch.setenv("GAIA_ALLOWED_ROOTS", str(tmp_path))
    pets = str(_pets(tmp_path).resolve())
    at = new_app()
    at.text_input(key="data_root").set_value(str(tmp_path))
    at.text_area(key="extra_folders").set_value(pets).run()
    at = open_page(at, "app_pages/id_vs_ood.py")
    at.selectbox(key="id_set").set_value(pets).run()
    at.multiselect(key="ood_sets").set_value(["noise"]).run()
    at = _scored(at, per_set=20)
    at = open_page(at, BROWSE)
    assert_clean(at)
    frame = _frame(at)[1]
    pets_rows = frame[frame[ib.IS_ID]]
    assert sorted(pets_rows[ib.FILE]) == sorted(f"{c}_{i}.png" for c in ("cat", "dog") for i in range(3))
    assert set(pets_rows[ib.TRUE]) == {"0 · cat", "1 · dog"}
    captions = image_captions(at)
    # "cat_0.png · true cat · pred dog": the file name, the class by name, in one line's characters.
    lines = [c.strip() for c in captions.splitlines() if ".png" in c]
    assert len(lines) == 6 and all(len(line) <= CAPTION_CHARS for line in lines)
    for line in lines:
        assert re.fullmatch(r"(cat|dog)_\d\.png · true (cat|dog) · pred \S+", line), line
    at.session_state["browse_focus"] = (str(pets_rows.iloc[0][ib.SET]), int(pets_rows.iloc[0][ib.INDEX]))
    at.run()
    assert_clean(at)
    assert "True class **0 · cat**" in texts(at.markdown)
    assert f"File: {pets}/cat/cat_0.png" in texts(at.caption)


def test_without_a_benchmark_browse_shows_the_id_reference_once_it_is_scored():
    at = new_app()
    at.number_input(key="max_per_set").set_value(40).run()
    at = open_page(at, "app_pages/inspect.py")  # Inspect scores the ID reference in the background
    at = open_page(at, BROWSE)
    assert_clean(at)
    assert "Nothing is scored yet" not in texts(at.info)
    assert "40 of 40 images" in texts(at.subheader)
