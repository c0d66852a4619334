"""Issue 14 on the Channel abnormality page through `streamlit.testing`: twin layers (a ResNet block's
last norm and its shortcut's norm, which get the same gradient) are listed once under a merged name,
and the channel ranking table has readable headers."""

from __future__ import annotations

import json

import pytest
from helpers.app import assert_clean, open_page, scored_session, texts

TWIN = "layer2.0.bn2 = layer2.0.downsample.1"


# Each module scores into its own cache folder (a fresh start, and no sharing with other modules).
pytestmark = pytest.mark.usefixtures("private_score_cache")


@pytest.fixture(scope="module")
def channels_app():
    at = open_page(scored_session(), "app_pages/channels.py")
    assert_clean(at)
    return at


def ranking_table(at):
    return next(df for df in at.dataframe if {"layer", "channel", "auroc"} <= set(df.value.columns))


def test_the_ranking_lists_twin_layers_once_under_the_merged_name(channels_app):
    at = channels_app
    at.selectbox(key="ch_ood").set_value("All OOD sets")
    at.radio(key="ch_method").set_value("gaia_z").run()
    assert_clean(at)
    layers = set(ranking_table(at).value["layer"])
    assert not layers & {"layer2.0.bn2", "layer2.0.downsample.1", "layer3.0.downsample.1", "layer4.0.downsample.1"}
    assert {TWIN, "layer3.0.bn2 = layer3.0.downsample.1"} <= layers
    assert TWIN in texts(at.caption) and "same gradient" in texts(at.caption)
    violins = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]["x"]
    assert TWIN in violins and "layer2.0.downsample.1" not in violins
    # Picking a merged channel draws its values (those of its first layer).
    merged = next(option for option in at.selectbox(key="ch_channel").options if option.startswith(TWIN))
    at.selectbox(key="ch_channel").set_value(merged).run()
    assert_clean(at)
    scatter = json.loads(at.get("plotly_chart")[-1].proto.spec)
    assert scatter["layout"]["title"]["text"].startswith(f"{TWIN} · channel")
    assert len(scatter["data"][0]["y"]) > 0


def test_the_ranking_table_has_readable_headers_with_help(channels_app):
    config = json.loads(ranking_table(channels_app).proto.columns)
    labels = {column: config[column].get("label") for column in config if not column.startswith("_")}
    assert labels == {
        "layer": "layer",
        "channel": "channel",
        "id_mean": "ID mean",
        "ood_mean": "OOD mean",
        "difference": "OOD − ID",
        "auroc": "AUROC",
        "separation": "|AUROC − 50%|",  # issue 22 item 15: AUROC in percent on every page
        "direction": "direction",
    }
    assert all(config[column].get("help") for column in labels)
