"""Issue 22, the inspection side, through `streamlit.testing`: the Misflagged detail names the TPR in
use and shows only an image of the current lists, the model's own mistakes are a list of their own,
a channel selection is captioned with the channel's value, the layer lab says which aggregation its
lower sections use, AUROC reads in percent, tables fit a projector's 1024 px (derived columns behind
a toggle), and the attribution pickers offer Grad-CAM's layer, the sign, the baseline and several
methods side by side."""

from __future__ import annotations

import base64
import json
import re
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from helpers import app as app_helpers
from helpers.app import assert_clean, image_captions, open_page, settle, texts

from app_pages.widgets.attribution_views import map_with_colorbar
from app_pages.widgets.formats import mistakes_sentence, percent_columns, plural
from gaia_core.attribution import AttributionConfig, attribute
from gaia_core.models import load_model

pytestmark = [
    pytest.mark.usefixtures("private_score_cache"),
    pytest.mark.filterwarnings("ignore:\\s*Setting (forward, backward hooks|backward hooks on ReLU):UserWarning"),
]


@pytest.fixture(scope="module")
def scored(private_score_cache):
    """One session that scored digits against every demo OOD set, 60 images per set."""
    at = app_helpers.new_app()
    at.session_state["max_per_set"] = 60
    at = open_page(at, "app_pages/id_vs_ood.py")
    at.button(key="score_button").click()
    at.run()
    settle(at)
    assert "Scored" in texts(at.success)
    return at


def charts(at, key_part: str) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart") if key_part in str(c.proto.id)]


def decoded(values) -> np.ndarray:
    """A plotly array as JSON carries it (a list, or base64 ``bdata`` with its ``dtype``)."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=np.dtype(values["dtype"]))
    return np.asarray(values)


def frames(at, key_part: str) -> list:
    return [d for d in at.dataframe if key_part in str(d.proto.id)]


def shown_columns(frame) -> list[str]:
    """The columns a table shows (its column order, or all of them)."""
    return list(frame.proto.column_order) or list(frame.value.columns)


def open_misflagged(at):
    at = open_page(at, "app_pages/misflagged.py")
    assert_clean(at)
    return at


def test_the_misflagged_detail_names_the_tpr_its_thresholds_keep(scored):
    at = open_misflagged(scored)
    at.radio(key="mis_filter").set_value("errors")
    at.slider(key="mis_tpr").set_value(0.8).run()
    (id_table,) = frames(at, "mis_id_rows")
    index = int(id_table.value.iloc[0]["image"].split("#")[1])
    at.session_state["mis_focus"] = (f"digits:{index}", "digits")
    at.run()
    assert_clean(at)
    positions = charts(at, "mis_detail_pos_")
    assert len(positions) == 3
    for spec in positions:
        labels = [a["text"] for a in spec["layout"]["annotations"]]
        assert "80% TPR<br>threshold" in labels, labels
        assert not any("95%" in label for label in labels)


def test_the_detail_shows_only_an_image_of_the_lists_on_screen(scored):
    at = open_misflagged(scored)
    at.radio(key="mis_filter").set_value("errors")
    at.slider(key="mis_tpr").set_value(0.95).run()
    (id_table,) = frames(at, "mis_id_rows")
    listed = set(id_table.value["image"])
    unlisted = next(f"digits #{k}" for k in range(200) if f"digits #{k}" not in listed)
    at.session_state["mis_focus"] = (f"digits:{unlisted.split('#')[1]}", "digits")
    at.run()
    assert_clean(at)
    assert not charts(at, "mis_detail_pos_"), "an image in neither table gets no detail"
    assert f"{unlisted}, picked before, is in neither list now" in texts(at.caption)
    first = id_table.value.iloc[0]["image"]
    at.session_state["mis_focus"] = (f"digits:{first.split('#')[1]}", "digits")
    at.run()
    assert len(charts(at, "mis_detail_pos_")) == 3  # a listed image gets its detail


def test_every_id_image_the_model_gets_wrong_is_a_list_of_its_own_flagged_or_not(scored):
    at = open_misflagged(scored)
    at.slider(key="mis_tpr").set_value(0.9)
    at.radio(key="mis_filter").set_value("errors").run()
    at.checkbox(key="mis_wrong_only").check().run()
    (flagged_only,) = frames(at, "mis_id_rows") or [None]
    flagged_wrong = set() if flagged_only is None else set(flagged_only.value["image"])
    at.checkbox(key="mis_wrong_only").uncheck()
    at.radio(key="mis_filter").set_value("model_wrong").run()
    assert_clean(at)
    (wrong,) = frames(at, "mis_id_rows")
    rows = wrong.value
    assert len(rows) > 0 and (rows["correct"] == False).all()  # noqa: E712 (a column of booleans)
    assert set(rows.loc[rows["flagged"], "image"]) == flagged_wrong  # the flagged ones: the old filter's
    caption = next(c for c in texts(at.caption).splitlines() if c.startswith("The model gets"))
    assert caption.startswith(f"The model gets {plural(len(rows), 'ID image')} wrong;")
    assert f"flags {int(rows['flagged'].sum())} of them" in caption
    assert not frames(at, "mis_ood_rows")  # OOD images have no label to get wrong


def test_the_false_alarm_sentence_agrees_with_its_numbers(scored):
    assert mistakes_sentence(1, 22) == "1 of the 22 labelled false alarms is an image the model itself misclassifies."
    assert mistakes_sentence(3, 22) == "3 of the 22 labelled false alarms are images the model itself misclassifies."
    assert mistakes_sentence(0, 22).startswith("None of the 22 labelled false alarms is an image")
    assert mistakes_sentence(1, 1) == "The one labelled false alarm is an image the model misclassifies."
    assert plural(1, "ID false alarm") == "1 ID false alarm" and plural(2, "OOD image") == "2 OOD images"
    at = open_misflagged(scored)
    at.radio(key="mis_filter").set_value("errors")
    at.slider(key="mis_tpr").set_value(0.9).run()
    caption = next(c for c in texts(at.caption).splitlines() if "threshold" in c and "false alarm" in c)
    count = int(re.search(r": (\d+) ID false alarms?,", caption).group(1))
    assert f": {plural(count, 'ID false alarm')}," in caption
    agreement = re.search(r"(\d+) of the \d+ labelled false alarms (is an image|are images)", caption)
    if agreement:
        assert (agreement.group(1) == "1") == (agreement.group(2) == "is an image"), caption


def test_misflagged_tables_show_few_columns_until_all_are_asked_for(scored):
    at = open_misflagged(scored)
    at.radio(key="mis_filter").set_value("errors")
    at.slider(key="mis_tpr").set_value(0.8).run()
    (id_table,) = frames(at, "mis_id_rows")
    first = shown_columns(id_table)
    assert first == ["image", "label", "pred", "correct", "confidence", "GAIA-A"]
    config = json.loads(id_table.proto.columns)
    assert config["label"]["label"] == "true" and config["confidence"]["label"] == "conf."
    at.toggle(key="mis_all_columns").set_value(True).run()
    (id_table,) = frames(at, "mis_id_rows")
    assert {"set", "MSP", "sample_id"} <= set(shown_columns(id_table))
    at.toggle(key="mis_all_columns").set_value(False).run()


def test_a_channel_selection_is_captioned_with_the_channels_value_and_lists_the_overall_score(scored, monkeypatch):
    from gaia_core.app_support import channel_values

    picks = {"digits": [0, 1, 2]}
    monkeypatch.setattr(channel_values, "points_to_rows", lambda points, names: picks)  # a box round 3 points
    at = open_page(scored, "app_pages/channels.py")
    at.radio(key="ch_method").set_value("gaia_z").run()
    assert_clean(at)
    layer, channel = at.selectbox(key="ch_channel").value.rsplit(" · ", 1)
    values = decoded(charts(at, "ch_values")[0]["data"][0]["y"])  # the ID set's points, in row order
    captions = image_captions(at)
    for row in picks["digits"]:
        assert f"ch {channel} r_c {values[row]:.4g}" in captions
    assert "GAIA-Z" not in captions.split(f"ch {channel}")[0].splitlines()[-1]  # not the overall score
    assert f"Captioned with {layer} · channel {channel} · r_c" in texts(at.caption)
    # A table without a selection is no widget, so AppTest knows it by its columns, not its key.
    (table,) = [d for d in at.dataframe if list(d.value.columns) == ["image", f"ch {channel} r_c", "gaia_z"]]
    np.testing.assert_allclose(sorted(table.value[f"ch {channel} r_c"]), sorted(values[r] for r in picks["digits"]))


def test_the_channel_ranking_reads_auroc_in_percent_and_hides_derived_columns_until_asked(scored):
    at = open_page(scored, "app_pages/channels.py")
    assert_clean(at)
    (ranking,) = [d for d in at.dataframe if "separation" in d.value.columns]
    config = json.loads(ranking.proto.columns)
    assert config["auroc"]["type_config"]["format"] == "%.1f%%"
    assert ranking.value["auroc"].between(0, 100).all() and ranking.value["auroc"].max() > 1
    assert shown_columns(ranking) == ["layer", "channel", "id_mean", "ood_mean", "auroc"]
    at.toggle(key="ch_all_columns").set_value(True).run()
    (ranking,) = [d for d in at.dataframe if "separation" in d.value.columns]
    assert {"difference", "separation", "direction"} <= set(shown_columns(ranking))
    at.toggle(key="ch_all_columns").set_value(False).run()


def test_the_layer_lab_says_which_aggregation_its_lower_sections_use_and_reads_percent(scored):
    at = open_page(scored, "app_pages/layer_lab.py")
    at.selectbox(key="lab_aggregation").set_value("mean").run()
    assert_clean(at)
    captions = texts(at.caption)
    assert "Each layer's channels alone, aggregated as chosen above: **plain mean**." in captions
    assert "Each candidate subset is aggregated as chosen above: **plain mean**." in captions
    at.selectbox(key="lab_aggregation").set_value("top_k").run()
    assert "aggregated as chosen above: **mean of the k most abnormal channels, k = 16**" in texts(at.caption)
    at.selectbox(key="lab_aggregation").set_value("mean").run()
    at.button(key="lab_search").click().run()
    assert_clean(at)
    main, subset = at.dataframe[0], at.dataframe[1]
    for frame in (main, subset):
        config = json.loads(frame.proto.columns)
        formats = {column: c.get("type_config", {}).get("format") for column, c in config.items()}
        assert set(formats.values()) == {"%.1f%%"}, formats
        assert frame.value.to_numpy().max() > 1  # percent, not fractions
        assert all(c.endswith(("FPR95", "AUROC")) for c in shown_columns(frame)), shown_columns(frame)
    assert "paper AUROC" in shown_columns(subset) and "AUROC" in shown_columns(subset)


def test_inspect_offers_the_grad_cam_layer_sign_baseline_and_several_methods_side_by_side(scored):
    at = open_page(scored, "app_pages/inspect.py")
    at.multiselect(key="inspect_samples").set_value(["digits/0.png"]).run()
    settle(at)
    assert_clean(at)
    assert shown_columns(at.dataframe(key="inspect_table"))[-2:] == ["GAIA-A", "GAIA-Z"]
    at.selectbox(key="attr_method").set_value("grad_cam").run()
    layer = at.selectbox(key="attr_layer")
    assert layer.value == "layer4" and "layer4 (default: the last conv stage)" in layer.options
    assert {"conv1", "layer3", "layer4.0.conv2"} <= set(layer.options)
    layer.set_value("layer3").run()
    assert_clean(at)
    assert "explains layer layer3" in texts(at.caption)
    at.selectbox(key="attr_method").set_value("integrated_gradients").run()
    assert {o for o in at.selectbox(key="attr_sign").options} >= {"absolute value", "positive", "negative"}
    assert at.selectbox(key="attr_baseline").options == ["zeros (the mean image)", "blurred input", "uniform noise"]
    at.selectbox(key="attr_baseline").set_value("blurred")
    at.selectbox(key="attr_sign").set_value("positive").run()
    assert_clean(at)
    side = at.multiselect(key="inspect_detail_side_methods")
    side.set_value(["saliency", "integrated_gradients", "deeplift", "grad_cam"]).run()
    assert_clean(at)
    captions = image_captions(at)
    assert "Integrated Gradients · positive · baseline blurred input · digits" in captions
    assert "DeepLift · positive · baseline blurred input · digits" in captions
    assert "Grad-CAM · layer layer3 · digits" in captions and "Saliency · digits" in captions


def test_a_single_map_carries_its_colour_bar_to_the_right():
    model = load_model("demo", device="cpu")
    x = torch.zeros(1, 1, 32, 32)
    x[0, 0, 8:24, 14:18] = 2.0
    loaded = SimpleNamespace(spec=SimpleNamespace(mean=(0.5,), std=(0.5,)))
    result = attribute(model, x, AttributionConfig(method="integrated_gradients", n_steps=4, sign="all"))
    picture = map_with_colorbar(loaded, x, result)
    assert picture.shape[0] == 192 and picture.shape[1] > 192 + 24  # the map, then its bar and values
    assert (picture[:, 192:] != 255).any()


def test_percent_tables_say_their_unit_where_a_csv_needs_it():
    import pandas as pd

    frame = pd.DataFrame({"layer": ["a"], "auroc": [0.8893], "fpr95": [1.0]})
    shown = percent_columns(frame, ["auroc", "fpr95"])
    assert shown["auroc"].iloc[0] == pytest.approx(88.93) and list(shown.columns) == ["layer", "auroc", "fpr95"]
    assert list(percent_columns(frame, ["auroc", "fpr95"], unit=True).columns) == ["layer", "auroc (%)", "fpr95 (%)"]
    assert frame["auroc"].iloc[0] == pytest.approx(0.8893)  # the caller's table is left alone
