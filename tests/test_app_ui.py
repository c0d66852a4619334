"""AppTest checks that what a page shows agrees with the controls beside it (issue 14)."""

import re

import pytest
from helpers.app import assert_clean, open_page, settle, texts

from app_pages.shell.job_progress import job_runner
from gaia_core.app_support import tables
from gaia_core.evaluation import ood_tables

# Each module scores into its own cache folder (a fresh start, and no sharing with other modules).
pytestmark = pytest.mark.usefixtures("private_score_cache")


def id_scores_of(at):
    """The ID set's score table of the session's finished benchmark."""
    return job_runner().get(at.session_state["scoring"]).result.result.id_scores.table


def numbers_in(text: str) -> list[float]:
    return [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", text)]


def misflagged_at(at, tpr: float):
    at = open_page(at, "app_pages/misflagged.py")
    at.slider(key="mis_tpr").set_value(tpr)
    at.run()
    return at


def misflagged_list(at, prefix: str):
    return next(df for df in at.dataframe if df.key and df.key.startswith(prefix))


def test_misflagged_detail_uses_the_page_tpr_threshold_not_95_percent(scored_app):
    at = misflagged_at(scored_app, 0.9)
    id_rows = misflagged_list(at, "mis_id_rows_").value
    assert len(id_rows), "at TPR 0.90 some ID images are flagged"
    at.session_state["mis_focus"] = (str(id_rows["sample_id"].iloc[-1]), id_rows[tables.SET_COLUMN].iloc[-1])
    at.run()
    assert_clean(at)
    method = at.selectbox(key="mis_method").value
    # A table without selection is no widget: AppTest gives it no key; it is the one with a label column.
    verdicts = next(df.value for df in at.dataframe if df.key is None and "label" in df.value.columns)
    row = verdicts[verdicts["label"] == tables.method_label(method)].iloc[0]
    at_90 = ood_tables.thresholds_at_tpr(id_scores_of(at), [method], 0.9)[method]
    at_95 = ood_tables.thresholds_at_tpr(id_scores_of(at), [method], 0.95)[method]
    assert row["threshold"] == pytest.approx(at_90) and at_90 != pytest.approx(at_95)
    # The list above the detail states the same threshold as the detail.
    assert any(value == pytest.approx(row["threshold"], rel=1e-5) for value in numbers_in(texts(at.caption)))
    assert bool(row["flagged"]), "an image listed as flagged reads flagged in its own detail"


def test_misflagged_row_tick_starts_afresh_when_the_order_changes(scored_app):
    at = misflagged_at(scored_app, 0.95)
    before = {df.key for df in at.dataframe if df.key and df.key.startswith("mis_")}
    at.radio(key="mis_sort").set_value("asc")
    at.run()
    after = {df.key for df in at.dataframe if df.key and df.key.startswith("mis_")}
    assert before.isdisjoint(after - {"mis_detail_verdicts"}) and before != after


def test_misflagged_shows_true_labels_and_filters_the_models_own_mistakes(scored_app):
    at = misflagged_at(scored_app, 0.9)
    id_rows = misflagged_list(at, "mis_id_rows_").value
    assert {"label", "pred", "correct"} <= set(id_rows.columns)
    wrong = int((id_rows["correct"] == False).sum())  # noqa: E712 (object column: True/False/None)
    summary = next(c for c in texts(at.caption).splitlines() if "false alarms" in c)
    # Its last two counts: the model's own mistakes among the labelled false alarms, and those.
    assert numbers_in(summary)[-2:] == [wrong, len(id_rows)]
    at.checkbox(key="mis_wrong_only").check().run()
    assert_clean(at)
    only = [df.value for df in at.dataframe if df.key and df.key.startswith("mis_id_rows_")]
    assert (only[0]["correct"] == False).all() if only else wrong == 0  # noqa: E712
    if only:
        assert len(only[0]) == wrong


def test_score_tables_show_six_significant_digits_on_inspect_and_misflagged(scored_app):
    import json

    inspect = open_page(scored_app, "app_pages/inspect.py")
    inspect.multiselect(key="inspect_samples").set_value(["digits/0.png", "noise/0.png"])
    inspect.run()
    settle(inspect)
    tables_shown = [
        inspect.dataframe(key="inspect_table"),
        misflagged_list(misflagged_at(inspect, 0.95), "mis_id_rows_"),
    ]
    for table in tables_shown:
        config = json.loads(table.proto.columns)
        score_columns = [c for c in ("GAIA-A", "GAIA-Z", "MSP") if c in config]
        assert score_columns, config.keys()
        assert all(config[c]["type_config"]["format"] == "%.6g" for c in score_columns), config
