"""The HTML report: one self-contained file (metrics, charts, embedded images) that opens offline
in Chromium with every chart drawn, and whose charts save as PNG from the camera button."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from gaia_core.cli import main

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
METHODS = ["gaia_z", "msp"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("report") / "report.html"
    argv = ["evaluate", "--model", "demo", "--ood", "letters", "noise", "--methods", *METHODS]
    code = main([*argv, "--limit", "30", "--batch-size", "15", "--no-progress", "--no-cache", "--html", str(path)])
    assert code == 0
    return path


def test_report_holds_the_metrics_one_chart_per_section_and_the_gallery_images(report):
    text = report.read_text(encoding="utf-8")
    for heading in ("Average over the OOD sets", "OOD set: letters", "OOD set: noise", "GAIA-Z", "MSP"):
        assert heading in text
    assert "AUROC" in text and "FPR95" in text
    # One histogram per method, the ROC curves, the per-layer violins (GAIA-Z kept its channels).
    div_ids = re.findall(r'<div id="([\w-]+)" class="plotly-graph-div"', text)
    assert div_ids == ["histogram-gaia_z", "histogram-msp", "roc", "layers"]
    # Three sets, most and least abnormal, six each.
    assert len(re.findall(r'<img src="data:image/png;base64,', text)) == 3 * 2 * 6
    # Named as on the app's pages, by set and position with the true label ("digits:3" reads like a label).
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", text)
    assert all(
        re.fullmatch(r"(digits #\d+ · true label \d|letters #\d+|noise #\d+) · [-\d.e]+", c) for c in captions
    ), captions
    assert text.count("<script type='text/javascript'>") == 1  # plotly.js inlined once
    # No Streamlit theme styles the report: its charts carry the white template (white plot area).
    assert text.count('"plot_bgcolor":"white"') == len(div_ids)
    # A drag zooms: a box selection has nothing to show in a file of its own.
    assert '"dragmode":"select"' not in text


def test_report_loads_nothing_from_the_network(report):
    text = report.read_text(encoding="utf-8")
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=[\"']https?://", text)
    assert "cdn.plot.ly" not in re.sub(r"<script type='text/javascript'>.*?</script>", "", text, flags=re.S)


def _offline_page(browser, report):
    context = browser.new_context(accept_downloads=True)
    fetched = []

    def block(route):
        fetched.append(route.request.url)
        route.abort()

    context.route(re.compile(r"^(?!file:|data:|blob:).*"), block)
    page = context.new_page()
    page.goto(report.as_uri())
    page.wait_for_function("document.querySelectorAll('.plotly-graph-div .main-svg').length >= 4", timeout=30_000)
    return page, fetched


@pytest.mark.slow
@pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("CI"),
    reason="Debian's chromium is not installed (the README's test command installs it; in CI its absence fails)",
)
def test_report_opens_offline_in_chromium_with_every_chart_drawn_and_png_download(report, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            page, fetched = _offline_page(browser, report)
            assert fetched == []
            drawn = page.evaluate(
                "[...document.querySelectorAll('.plotly-graph-div')].map(d => d.querySelectorAll('.trace').length)"
            )
            assert len(drawn) == 4 and all(n > 0 for n in drawn)
            loaded = page.evaluate("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
            assert loaded
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "report_offline.png"), full_page=True)
            roc = page.locator("#roc")
            roc.hover()
            with page.expect_download() as download:
                roc.locator(".modebar-btn[data-title^='Download plot']").click()
            saved = tmp_path / download.value.suggested_filename
            download.value.save_as(saved)
            assert saved.suffix == ".png" and saved.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        finally:
            browser.close()


# --- issue 22 item 16: which model made it, the sets' titles, a margin, galleries by any method ----


def test_the_report_names_the_model_weights_preprocessing_date_and_version_that_made_it(report):
    import datetime

    import gaia_core

    text = report.read_text(encoding="utf-8")
    about = re.search(r"<table class='about'>(.*?)</table>", text).group(1)
    rows = dict(re.findall(r"<tr><th>(.*?)</th><td>(.*?)</td></tr>", about))
    assert rows["Model"].startswith("demo: ")
    assert rows["Weights"] == "the preset&#x27;s own"
    assert "stated by preset demo" in rows["Preprocessing"] and "32×32" in rows["Preprocessing"]
    assert rows["Made"] == f"{datetime.date.today().isoformat()} with GAIA Explorer {gaia_core.__version__}"
    # The ID set by its title, its key beside it (the key is what the tables and charts show).
    assert "ID set: Handwritten digits (ID) (“digits” in the tables and charts)." in text
    assert "<h3>Handwritten digits (ID): most abnormal</h3>" in text


def test_the_report_keeps_a_left_margin_where_its_max_width_does_not(report):
    body = re.search(r"body \{([^}]*)\}", report.read_text(encoding="utf-8")).group(1)
    assert "max-width: 1100px" in body and "padding: 0 2rem" in body


def test_the_reports_galleries_offer_every_method_each_ranked_by_its_own_scores(report):
    text = report.read_text(encoding="utf-8")
    options = re.findall(r'<option value="(\w+)"( selected)?>', text)
    assert options == [("gaia_z", " selected"), ("msp", "")]  # GAIA-A was not scored: the first method
    assert text.count('<div class="ranked"') == 2 and '<div class="ranked" data-method="msp" hidden>' in text
    for method in METHODS:
        block = text.split(f'data-method="{method}"')[1].split('<div class="ranked"')[0]
        assert f"Ranked by {'GAIA-Z' if method == 'gaia_z' else 'MSP'}" in block
        most = block.split("most abnormal</h3>")[1].split("</div>")[0]
        values = [float(v) for v in re.findall(r"<figcaption>.*? · ([-\d.e]+)</figcaption>", most)]
        assert len(values) == 6 and values == sorted(values, reverse=True), (method, values)
    # Each picture once, in the page's script; the hidden gallery's images only name theirs.
    pictures = json.loads(re.search(r"const GALLERY_PICTURES = (\{.*?\});", text).group(1))
    keys = re.findall(r'data-image="([^"]+)"', text)
    assert set(keys) == set(pictures) and len(keys) > len(pictures)
    msp = text.split('data-method="msp"')[1]
    assert '<img src="' not in msp.split("<script>")[0]
    assert "function showGallery" in text


def test_the_caller_chooses_the_method_the_galleries_open_ranked_by():
    from gaia_core.data import demo_dataset, evenly_spaced
    from gaia_core.errors import AppSupportError
    from gaia_core.evaluation.benchmark import BenchmarkRequest, run_benchmark
    from gaia_core.models import get_spec, load_model
    from gaia_core.report import ReportOptions, model_source, report_html

    sets = {name: evenly_spaced(demo_dataset(name), 12) for name in ("digits", "noise")}
    spec = get_spec("demo")
    run = run_benchmark(
        BenchmarkRequest(load_model("demo", device="cpu"), spec, sets["digits"], (sets["noise"],), ("gaia_a", "msp"))
    )
    source = model_source(spec, "/some/folder/mine.safetensors", set_titles={"digits": "Handwritten digits (ID)"})
    text = report_html(run.result, sets, spec.mean, spec.std, ReportOptions(gallery_method="msp"), source)
    assert re.findall(r'<option value="(\w+)"( selected)?>', text) == [("gaia_a", ""), ("msp", " selected")]
    assert (
        '<div class="ranked" data-method="gaia_a" hidden>' in text and '<div class="ranked" data-method="msp">' in text
    )
    assert "<tr><th>Weights</th><td>mine.safetensors</td></tr>" in text and "/some/folder" not in text
    assert "assumed" in re.search(r"<th>Preprocessing</th><td>(.*?)</td>", text).group(1)  # not its own weights
    default = report_html(run.result, sets, spec.mean, spec.std)
    assert '<option value="gaia_a" selected>' in default  # GAIA-A when it was scored
    assert "<tr><th>Model</th><td>not given</td></tr>" in default
    with pytest.raises(AppSupportError, match="cannot rank its galleries by 'energy'"):
        report_html(run.result, sets, spec.mean, spec.std, ReportOptions(gallery_method="energy"))
