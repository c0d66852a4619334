"""A class without a contradiction, through `streamlit.testing`: What if?'s slider, verdicts and
explanations, How GAIA works' one quantity per step and its computed sentences, the Overview's
claims and the model in use, the metrics table's below-chance note (issue 22 items 1, 4, 6-10;
issue 21 item 8). What only a browser shows is in test_browser_class.py."""

from __future__ import annotations

import base64
import json
import re
import time
import tomllib

import numpy as np
import plotly.io as pio
import pytest
import torch
from helpers.app import (
    ROOT,
    assert_clean,
    image_captions,
    load_cifar_checkpoint,
    new_app,
    open_page,
    shown,
    texts,
)
from streamlit.testing.v1 import AppTest

from gaia_core.data import demo_dataset
from gaia_core.models import load_model
from gaia_core.scores.walkthrough import walkthrough, zero_shares

pytestmark = pytest.mark.usefixtures("private_score_cache")
WHAT_IF = "app_pages/what_if.py"
HOW = "app_pages/how_it_works.py"
VERDICT = re.compile(r"Flagged as OOD by \*\*(\d+) of (\d+)\*\* methods")


@pytest.fixture(scope="module")
def demo():
    return load_model("demo", device="cpu")


def _swept(at: AppTest, timeout_s: float = 300) -> AppTest:
    """Rerun until What if? shows its curves (the ID reference is scored in the background)."""
    deadline = time.monotonic() + timeout_s
    while (at.get("progress") or not at.get("plotly_chart")) and time.monotonic() < deadline:
        time.sleep(0.5)
        at.run()
    assert_clean(at)
    return at


def _chart(at: AppTest, key: str):
    """The plotly figure of the chart whose key contains ``key`` (typed arrays decoded)."""
    return pio.from_json(next(c for c in at.get("plotly_chart") if key in str(c.proto.id)).proto.spec)


def _array(value) -> np.ndarray:
    """A plotly array as the browser receives it: a list, or a typed array {"dtype", "bdata", "shape"}."""
    if isinstance(value, dict) and "bdata" in value:
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        return flat.reshape([int(n) for n in str(value.get("shape", flat.size)).split(",")]).astype(float)
    return np.asarray(value, dtype=float)


def _shown_strength(at: AppTest) -> str:
    """What the browser draws on the strength slider: the value the server sent, else its default."""
    proto = at.select_slider(key="whatif_strength").proto
    return proto.raw_value[0] if proto.set_value else proto.options[int(proto.default[0])]


def _captioned_strength(at: AppTest) -> str:
    return next(c for c in image_captions(at).splitlines() if c.startswith("strength "))[len("strength ") :]


def _verdicts(at: AppTest):
    return next(d.value for d in at.dataframe if "first flags at" in d.value.columns)


def _drawn_three() -> bytes:
    from helpers.app import png_bytes

    canvas = np.zeros((256, 256), dtype=np.uint8)
    canvas[40:60, 70:190] = canvas[118:138, 90:190] = canvas[196:216, 70:190] = canvas[40:216, 170:190] = 255
    return png_bytes(canvas)


# --- What if? ---------------------------------------------------------------------------------


def test_the_strength_slider_shows_the_strength_the_page_computes_after_the_start_image_changes():
    at = _swept(open_page(new_app(), WHAT_IF))
    at.select_slider(key="whatif_strength").set_value(0.4).run()
    assert _shown_strength(at) == _captioned_strength(at) == "0.40"
    for elsewhere in ("An upload", "A drawing"):
        at.radio(key="whatif_source").set_value(elsewhere).run()  # no image there: no slider drawn
        at.radio(key="whatif_source").set_value("A sample").run()
        _swept(at)
        assert _shown_strength(at) == _captioned_strength(at) == "0.40", elsewhere
        flagged = int(VERDICT.search(texts(at.markdown))[1])
        assert flagged == (_verdicts(at)["flagged here"] == "yes").sum()  # the verdict is the slider's


def test_every_method_has_its_first_flag_strength_and_is_flagged_from_there():
    at = _swept(open_page(new_app(), WHAT_IF))
    table = _verdicts(at)
    assert len(table) == int(VERDICT.search(texts(at.markdown))[2]) == 8
    firsts = dict(zip(table["method"], table["first flags at"]))
    assert "never" in firsts.values() or all(re.fullmatch(r"\d\.\d\d", s) for s in firsts.values())
    for method, first in firsts.items():
        if first == "never":
            continue
        at.select_slider(key="whatif_strength").set_value(float(first)).run()
        row = _verdicts(at).set_index("method").loc[method]
        assert row["flagged here"] == "yes" and row["score"] > row["threshold"], method


def test_what_if_explains_a_drawing_by_its_percentiles_nearest_id_digits_and_pixel_traits():
    at = open_page(new_app(), WHAT_IF)
    at.radio(key="whatif_source").set_value("An upload").run()
    at.file_uploader(key="whatif_upload").upload("my_three.png", _drawn_three(), "image/png")
    at.run()
    _swept(at)
    table = _verdicts(at)
    flagged = int((table["flagged here"] == "yes").sum())
    assert f"Why {flagged} of 8 methods flag it at strength 0.00" in texts(at.subheader)
    assert (table["score"] > table["threshold"]).sum() == flagged
    notes = shown(texts(at.markdown))
    assert "Compared with 450 images of digits:" in notes
    assert "Unusual for the ID images:" in notes or "lies within the middle 90% of digits" in notes
    assert re.search(r"Its nearest ID image is \d\.\d{3} away", notes)
    nearest = [c for c in image_captions(at).splitlines() if c.startswith("digits #")]
    assert len(nearest) == 3 and all(" · true label " in c for c in nearest)
    distances = re.search(r"their distances to this image: ([\d., ]+)\.", texts(at.caption))[1].split(", ")
    assert distances == sorted(distances) and len(distances) == 3


def test_one_named_image_scores_the_same_on_how_gaia_works_and_on_what_if():
    at = open_page(new_app(), HOW)
    step_1 = texts(at.markdown)
    assert "ID: digits #0 · true label 1" in image_captions(at)
    gaia_z, gaia_a = re.search(r"GAIA-Z \*\*([\d.e-]+)\*\* · GAIA-A \*\*([\d.e-]+)\*\*", step_1).groups()
    at = _swept(open_page(at, WHAT_IF))
    assert at.selectbox(key="whatif_sample").value == "digits/0.png"
    scores = _verdicts(at).set_index("method")["score"]
    assert (f"{scores['GAIA-Z']:.4g}", f"{scores['GAIA-A']:.4g}") == (gaia_z, gaia_a)


# --- How GAIA works ---------------------------------------------------------------------------


def test_how_gaia_works_counts_its_zeros_and_names_r_c_alike_in_chart_sentence_and_formula(demo):
    at = open_page(new_app(), HOW)
    assert_clean(at)
    x_id, x_ood = demo_dataset("digits")[0].image[None], demo_dataset("natural")[0].image[None]
    id_step, ood_step = walkthrough(demo, x_id, "layer3.0.bn1"), walkthrough(demo, x_ood, "layer3.0.bn1")
    step_2 = texts(at.markdown)
    id_zeros, ood_zeros = (100 * float((s.z_gradient == 0).mean()) for s in (id_step, ood_step))
    assert f"**{id_zeros:.0f}%** of the ID image's entries and **{ood_zeros:.0f}%** of the OOD image's" in step_2
    assert "3 · r_c: the non-zero ratio per channel" in texts(at.header)
    assert any(r"r_c = \frac{1}{HW}" in e.value and "zero ratio" not in e.value for e in at.latex)
    sentence = next(i.value for i in at.info if "mean r_c" in i.value)
    for label, step in (("ID", id_step), ("OOD", ood_step)):
        layout = _chart(at, f"how_zero_{label}:").layout
        assert "r_c per channel" in layout.title.text and layout.yaxis.title.text.startswith("r_c")
        mean = f"{step.nonzero_fraction.mean():.2f}"
        assert [a.text for a in layout.annotations] == [f"mean<br>r_c {mean}"]
        assert mean in sentence  # "mean r_c 0.48 vs 0.50", as the charts' means read


def test_how_gaia_works_shows_16_large_gradient_tiles_and_all_64_on_request():
    at = open_page(new_app(), HOW)
    grids = [_chart(at, f"how_grid_{k}").layout.title.text for k in ("ID:", "OOD:")]
    assert all("(16 of 64 channels)" in t for t in grids)
    at.toggle(key="how_all_channels").set_value(True).run()
    assert all("(64 channels)" in _chart(at, f"how_grid_{k}").layout.title.text for k in ("ID:", "OOD:"))


def test_how_gaia_works_shows_where_gaia_does_not_work_with_the_published_rows():
    from gaia_core.evaluation.published import PUBLISHED

    at = open_page(new_app(), HOW)
    assert "Where GAIA does not work" in texts(at.header)
    table = next(d.value for d in at.dataframe if "AUROC (%)" in d.value.columns)
    assert sorted(table["AUROC (%)"]) == sorted(f.value for f in PUBLISHED if f.metric == "auroc")
    assert "below chance on MVTec Metal Nut (dissimilar), MVTec Pill (dissimilar)." in texts(at.markdown)


def test_how_gaia_works_checks_applicability_on_its_own_id_image_set(monkeypatch):
    import app_pages.widgets.applicability_note as note

    asked = []
    real = note.get_dataset
    monkeypatch.setattr(note, "get_dataset", lambda loaded, name: asked.append(name) or real(loaded, name))
    note._applicability.clear()
    at = new_app()
    at.session_state["id_set"] = "letters"  # another page's choice
    at = open_page(at, HOW)
    assert_clean(at)
    assert at.selectbox(key="how_id_set").value == "digits"
    assert asked == ["digits"]


# --- Overview ---------------------------------------------------------------------------------


def test_the_overview_states_the_sparsity_hypothesis_with_the_verdict_of_the_sets_in_use(demo):
    at = open_page(new_app(), "app_pages/overview.py")
    assert_clean(at)
    intro = texts(at.markdown)
    assert "on in-distribution images most gradient entries" not in intro
    assert "The paper's hypothesis" in intro
    digits = demo_dataset("digits")
    picks = np.linspace(0, len(digits) - 1, 8).astype(int)
    share = zero_shares(demo, torch.stack([digits[int(i)].image for i in picks])).mean()
    verdict = shown(next(i.value for i in at.info if "On this model" in i.value))
    assert f"On 8 images of Handwritten digits (ID), {100 * share:.0f}% of the gradient entries are exactly zero" in (
        verdict
    )
    assert ("as the paper expects" in verdict) or ("does not hold" in verdict)


def test_the_overview_describes_another_loaded_model_without_the_demos_digit_tiles(tmp_path, monkeypatch):
    monkeypatch.setenv("GAIA_ALLOWED_ROOTS", str(tmp_path))
    at = load_cifar_checkpoint(tmp_path)
    at = open_page(at, "app_pages/overview.py")
    assert not at.exception and not at.error
    page = texts(at.markdown)
    assert "The demo's sets" not in page and "cifar_resnet18" in page
    assert "**ID set:** CIFAR-10" in page
    assert "could not be checked on the sets in use" in texts(at.caption)  # no CIFAR-10 on disk: said, not faked


# --- Scored: ID vs OOD and Channel abnormality ------------------------------------------------


def test_the_metrics_table_names_every_method_below_chance_on_the_set_shown(scored_app):
    at = open_page(scored_app, "app_pages/id_vs_ood.py")
    average, *sets = at.selectbox(key="metrics_set").options
    for which in [*sets, average]:
        at.selectbox(key="metrics_set").set_value(which).run()
        table = next(d.value for d in at.dataframe if any("AUROC" in str(c) for c in d.value.columns))
        auroc = table[next(c for c in table.columns if "AUROC" in str(c))]
        below = {str(m) for m, v in auroc.items() if v < 0.5}
        warning = shown(texts(at.warning))
        for method, value in auroc.items():
            named = (
                f"{method} on {which} (" in warning if which != average else f"{method} ({100 * value:.1f}%)" in warning
            )
            assert named == (str(method) in below), (which, method, warning)
        if below:
            assert "more confident on these OOD images than on its own ID images (digits)" in warning


def test_channel_abnormality_states_the_hypothesis_with_the_channel_count_of_its_heatmap(scored_app):
    at = open_page(scored_app, "app_pages/channels.py")
    assert_clean(at)
    header = shown(texts(at.caption))
    assert "Both are higher on OOD images" not in header and "The paper expects both to be higher" in header
    z = _array(
        json.loads(next(c for c in at.get("plotly_chart") if "ch_heatmap" in str(c.proto.id)).proto.spec)["data"][0][
            "z"
        ]
    )
    higher, lower, total = int((z > 0).sum()), int((z < 0).sum()), int(np.isfinite(z).sum())
    assert f"in {higher} of {total} channels and lower in {lower}" in header


def test_a_class_server_shows_visitors_no_deploy_button():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["toolbarMode"] in ("viewer", "minimal")
