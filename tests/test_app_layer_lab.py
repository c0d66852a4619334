"""The layer lab page: recomputed metrics change with the layers and the aggregation; CSV exports."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


# Each module scores into its own cache folder (a fresh start, and no sharing with other modules).
pytestmark = pytest.mark.usefixtures("private_score_cache")


def _settle(at: AppTest) -> AppTest:
    import time

    deadline = time.monotonic() + 400
    while at.get("progress") and time.monotonic() < deadline:
        time.sleep(0.5)
        at.run()
    assert not at.get("progress")
    return at


def test_layer_lab_recomputes_metrics_for_a_chosen_subset_and_aggregation():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.run()
    at.session_state["max_per_set"] = 60
    at.switch_page("app_pages/layer_lab.py")
    at.run()
    at.button(key="lab_score").click().run()
    _settle(at)
    assert not at.exception and not at.error
    assert at.title[0].value == "Layer lab"
    table = at.dataframe[0].value
    yours, paper = table["yours AUROC"], table["paper AUROC"]
    assert (yours == paper).all()  # every layer, mean of squares: the engine's own score
    assert len(at.get("download_button")) == 2
    captions = " ".join(c.value for c in at.caption)
    assert "Twin layers, equal by construction: layer2.0.bn2 = layer2.0.downsample.1;" in captions

    layers = at.multiselect(key="lab_layers_gaia_z").value
    assert len(layers) > 1
    at.multiselect(key="lab_layers_gaia_z").set_value([layers[-1]]).run()
    assert not at.warning, [w.value for w in at.warning]
    changed = at.dataframe[0].value
    assert not (changed["yours AUROC"] == changed["paper AUROC"]).all()
    assert (changed["paper AUROC"] == paper).all()

    at.selectbox(key="lab_aggregation").set_value("mean").run()
    assert not (at.dataframe[0].value["yours AUROC"] == changed["yours AUROC"]).all()

    at.button(key="lab_search").click().run()
    assert not at.exception
    assert any("Chosen layers" in m.value for m in at.markdown)
    assert len(at.dataframe) == 2 and len(at.get("download_button")) == 3
