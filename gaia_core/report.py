"""One self-contained HTML report of an ID-vs-OOD benchmark, to hand out after a class.

The file says which model produced it (architecture, weights file, preprocessing, date, GAIA
Explorer version) and holds the metrics table, every method's score histograms with the 95%-TPR
threshold, the ROC curves, the per-layer violins (when per-channel values were kept) and a gallery
of the most and least abnormal images of every set, ranked by any scored method (a select in the
page, plain JS). Images are embedded as base64 PNG, each once, and plotly.js is inlined once, so
the file opens without a network. `comparison_html` writes
scored runs side by side (one metrics table per method), as self-contained.
"""

from __future__ import annotations

import base64
import datetime
import html
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from PIL import Image
from plotly.offline import get_plotlyjs

import gaia_core
from gaia_core import charts
from gaia_core.charts.style import standalone
from gaia_core.data.base import ScoreDataset
from gaia_core.data.images import dataset_inputs, upscale
from gaia_core.data.input_config import InputConfig, describe, input_config_of
from gaia_core.data.naming import sample_name, source_index, with_label
from gaia_core.data.transforms import denormalize
from gaia_core.errors import AppSupportError
from gaia_core.evaluation.metrics import METRICS
from gaia_core.evaluation.ood_tables import BenchmarkResult, metrics_by_method, per_set, thresholds_at_tpr
from gaia_core.evaluation.published import SOURCE
from gaia_core.models import ModelSpec

# plotly config of every chart of the report and of the app: the camera button saves a PNG.
PNG_EXPORT_CONFIG = {"toImageButtonOptions": {"format": "png", "scale": 2}, "displaylogo": False}


@dataclass(frozen=True)
class ReportOptions:
    """What the report shows."""

    # Report title (the HTML <title> and the first heading).
    title: str = "GAIA Explorer: ID vs OOD report"
    # Images per set in each gallery row (most abnormal, least abnormal).
    gallery_size: int = 6
    # Thumbnail side in pixels (small inputs are enlarged without blurring).
    thumb_side: int = 96
    # True positive rate on the ID set that sets the OOD threshold.
    tpr: float = 0.95
    # The methods' settings, one line under the metrics (`MethodSettings.describe`); "" = not said.
    settings: str = ""
    # GAIA beside the published figures (`gaia_core.evaluation.published.published_table`, percent);
    # None = no such section (only the paper's protocol has published figures to set beside).
    published: pd.DataFrame | None = None
    # The method the galleries are ranked by when the report opens (each scored method is offered
    # in the page); None = GAIA-A when it was scored, else the first method.
    gallery_method: str | None = None


@dataclass(frozen=True)
class ReportSource:
    """Which model produced the report, and the sets' titles: the report's header."""

    # The architecture: its registry name and one-line description.
    architecture: str
    # The weights' file name, without folders ("" = the preset's own weights).
    checkpoint: str = ""
    # One line on the preprocessing (`gaia_core.data.input_config.describe`).
    preprocessing: str = ""
    # Set name as the tables and charts show it -> its title ("digits" -> "Handwritten digits (ID)").
    set_titles: Mapping[str, str] = field(default_factory=dict)
    # When the report was made, as YYYY-MM-DD ("" = the day it is written).
    date: str = ""


def model_source(
    spec: ModelSpec,
    checkpoint: str = "",
    pretrained: bool = False,
    set_titles: Mapping[str, str] | None = None,
    crop: str = "resize",
    config: InputConfig | None = None,
) -> ReportSource:
    """The header of a report of ``spec``'s model with weights ``checkpoint`` (a path; only its file
    name is shown) or, without one, the preset's own weights (pretrained ones with ``pretrained``).

    Args:
        set_titles: set name -> its title as a person reads it.
        crop: the crop rule the sets were read with (a benchmark's ``Preset.crop``).
        config: the preprocessing the checkpoint states or the user entered, when there is one.
    """
    weights = Path(checkpoint).name if checkpoint else ("pretrained" if pretrained else "")
    return ReportSource(
        architecture=f"{spec.name}: {spec.description}",
        checkpoint=weights,
        preprocessing=describe(config or input_config_of(spec, own_weights=not checkpoint, crop=crop)),
        set_titles=dict(set_titles or {}),
    )


def _published_html(table: pd.DataFrame) -> str:
    """GAIA's figures beside the published ones: the table (empty cells where none is listed) and its source."""
    cells = table.to_html(float_format=lambda v: f"{v:.2f}", na_rep="", border=0, classes="metrics")
    return f"<h2>Beside the published figures</h2><p>Percent. Source: {html.escape(SOURCE)}.</p>{cells}"


def gallery_method(result: BenchmarkResult, options: ReportOptions) -> str:
    """The method the report's galleries open ranked by (`ReportOptions.gallery_method`)."""
    if options.gallery_method is not None:
        if options.gallery_method not in result.methods:
            raise AppSupportError(
                f"the report cannot rank its galleries by '{options.gallery_method}': it was not scored "
                f"(scored: {', '.join(result.methods)})"
            )
        return options.gallery_method
    return "gaia_a" if "gaia_a" in result.methods else result.methods[0]


def _png_data_uri(rgb: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure_html(figure, div_id: str) -> str:
    return standalone(go.Figure(figure)).to_html(
        full_html=False, include_plotlyjs=False, div_id=div_id, config=PNG_EXPORT_CONFIG
    )


def _metrics_html(result: BenchmarkResult) -> str:
    parts = []
    for which in [None, *result.ood_scores]:
        table = metrics_by_method(result.metrics, which, scale=100.0).rename(columns={m.key: m.label for m in METRICS})
        table.index = [charts.method_label(m) for m in table.index]
        caption = "Average over the OOD sets" if which is None else f"OOD set: {which}"
        parts.append(  # percent with one decimal and a "%", as on the app's pages
            f"<h3>{html.escape(caption)}</h3>"
            + table.to_html(float_format=lambda v: f"{v:.1f}%", na_rep="–", classes="metrics", border=0)
        )
    return "\n".join(parts)


def _layer_values(result: BenchmarkResult) -> tuple[str, dict[str, dict[str, np.ndarray]]] | None:
    """The first method with per-channel values: set title -> layer -> (N,) per-image layer means."""
    sets = {result.id_scores.title: result.id_scores, **result.ood_scores}
    for method in result.methods:
        if all(method in s.channels and s.channels[method] for s in sets.values()):
            return method, {title: charts.layer_means(s.channels[method]) for title, s in sets.items()}
    return None


def _ranked_gallery(
    result: BenchmarkResult,
    datasets: Mapping[str, ScoreDataset],
    mean: Sequence[float],
    std: Sequence[float],
    options: ReportOptions,
    method: str,
    titles: Mapping[str, str],
    pictures: dict[str, str],
    shown: bool,
) -> str:
    """The most and least abnormal images of every set by ``method``. Every picture goes into
    ``pictures`` (key -> data URI) once; a shown gallery's images carry their ``src``, the others
    only their key (the page's script gives them their pictures when that method is picked)."""
    parts = []
    sets = {result.id_scores.title: result.id_scores, **result.ood_scores}
    for title, scores in sets.items():
        if title not in datasets:
            continue
        name = html.escape(titles.get(title, title))
        ranked = scores.table.sort_values(method, ascending=False, kind="stable")
        k = min(options.gallery_size, len(ranked))
        for heading, rows in (("most abnormal", ranked.head(k)), ("least abnormal", ranked.tail(k)[::-1])):
            try:
                x, _ = dataset_inputs(datasets[title], rows["index"].tolist())
            except AppSupportError as error:
                parts.append(f"<h3>{name}: {heading}</h3><p>{html.escape(str(error))}</p>")
                continue
            cells = []
            for picture, (_, row) in zip(denormalize(x, mean, std), rows.iterrows()):
                key = f"{title}:{int(row['index'])}"
                if key not in pictures:
                    pictures[key] = _png_data_uri(upscale(picture, options.thumb_side))
                label = with_label(sample_name(title, source_index(datasets[title], row["index"])), row["label"])
                caption = f"{label} · {row[method]:.4g}"
                source = f'src="{pictures[key]}" ' if shown else ""
                cells.append(
                    f'<figure><img {source}data-image="{html.escape(key)}" alt="{html.escape(str(row["sample_id"]))}">'
                    f"<figcaption>{html.escape(caption)}</figcaption></figure>"
                )
            parts.append(f"<h3>{name}: {heading}</h3><div class='gallery'>{''.join(cells)}</div>")
    return "\n".join(parts)


# Shows the gallery of the picked method: a hidden one waits in a <template> (no image of the page
# without a picture) until it is first shown, then its images get their pictures (kept once, by key).
_GALLERY_SCRIPT = """
function showGallery(method) {
  document.querySelectorAll('.ranked').forEach(function (block) {
    var shown = block.dataset.method === method;
    block.hidden = !shown;
    var waiting = block.querySelector('template');
    if (shown && waiting) {
      var content = waiting.content.cloneNode(true);
      content.querySelectorAll('img[data-image]').forEach(function (img) {
        img.src = GALLERY_PICTURES[img.dataset.image];
      });
      waiting.replaceWith(content);
    }
  });
}
"""


def _gallery_html(
    result: BenchmarkResult,
    datasets: Mapping[str, ScoreDataset],
    mean: Sequence[float],
    std: Sequence[float],
    options: ReportOptions,
    titles: Mapping[str, str],
) -> str:
    """A select of every scored method and, per method, its ranked gallery (the chosen one shown)."""
    first = gallery_method(result, options)
    pictures: dict[str, str] = {}
    choices, blocks = [], []
    for method in result.methods:
        label = html.escape(charts.method_label(method))
        selected = " selected" if method == first else ""
        choices.append(f'<option value="{html.escape(method)}"{selected}>{label}</option>')
        gallery = _ranked_gallery(result, datasets, mean, std, options, method, titles, pictures, method == first)
        shown = f"<p>Ranked by {label} (higher = more abnormal).</p>{gallery}"
        hidden, content = ("", shown) if method == first else (" hidden", f"<template>{shown}</template>")
        blocks.append(f'<div class="ranked" data-method="{html.escape(method)}"{hidden}>{content}</div>')
    picker = (
        '<p><label for="gallery-method">Rank the images by </label>'
        f'<select id="gallery-method" onchange="showGallery(this.value)">{"".join(choices)}</select></p>'
    )
    script = f"<script>const GALLERY_PICTURES = {json.dumps(pictures)};{_GALLERY_SCRIPT}</script>"
    return picker + "\n".join(blocks) + script


def _about_html(source: ReportSource | None) -> str:
    """Which model produced the report: architecture, weights, preprocessing, date, version."""
    source = source or ReportSource(architecture="not given")
    date = source.date or datetime.date.today().isoformat()
    rows = (
        ("Model", source.architecture),
        ("Weights", source.checkpoint or "the preset's own"),
        ("Preprocessing", source.preprocessing or "not given"),
        ("Made", f"{date} with GAIA Explorer {gaia_core.__version__}"),
    )
    cells = "".join(f"<tr><th>{name}</th><td>{html.escape(value)}</td></tr>" for name, value in rows)
    return f"<table class='about'>{cells}</table>"


# The padding keeps a margin where max-width no longer does (a projector's 1024 px).
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; padding: 0 2rem; color: #222; }
table.about th { text-align: left; padding-right: 1rem; font-weight: 600; }
table.metrics { border-collapse: collapse; margin-bottom: 1rem; }
table.metrics th, table.metrics td { padding: 0.25rem 0.75rem; text-align: right; border-bottom: 1px solid #ddd; }
.gallery { display: flex; flex-wrap: wrap; gap: 0.5rem; }
.gallery figure { margin: 0; text-align: center; font-size: 0.75rem; }
.gallery img { image-rendering: pixelated; display: block; }
"""


def report_html(
    result: BenchmarkResult,
    datasets: Mapping[str, ScoreDataset],
    mean: Sequence[float],
    std: Sequence[float],
    options: ReportOptions = ReportOptions(),
    source: ReportSource | None = None,
) -> str:
    """The report as one HTML document (str) that needs no network to open.

    Args:
        result: the benchmark; per-layer violins need its per-channel values (``keep_channels``).
        datasets: set title -> the dataset its table's ``index`` column refers to; sets missing
            here get no gallery.
        mean, std: per-channel normalization of the model's inputs, to show the images.
        options: what to show.
        source: which model produced it and the sets' titles (`model_source`); None says "not given".
    """
    id_title = result.id_scores.title
    sets = {id_title: result.id_scores, **result.ood_scores}
    colors = charts.dataset_colors(sets, id_title)
    thresholds = thresholds_at_tpr(result.id_scores.table, result.methods, options.tpr)
    sample_ids = per_set(sets, "sample_id")
    figures = []
    for method in result.methods:
        figures.append(
            charts.score_histogram(
                per_set(sets, method),
                id_title,
                thresholds[method],
                charts.method_label(method),
                sample_ids=sample_ids,
                colors=colors,
                threshold_label=f"{100 * options.tpr:.0f}% TPR threshold",
            )
        )
    ood_all = {m: np.concatenate([s.scores(m) for s in result.ood_scores.values()]) for m in result.methods}
    roc = charts.roc_figure({m: charts.roc_points(result.id_scores.scores(m), ood_all[m]) for m in result.methods})
    layered = _layer_values(result)
    violin = None
    if layered is not None:
        method, values = layered
        violin = charts.layer_distribution_figure(
            values,
            y_label=f"{charts.method_label(method)}: per-image mean over channels",
            id_name=id_title,
            title=f"{charts.method_label(method)}: per-layer distribution, ID vs OOD",
            colors=colors,
        )
    titles = dict(source.set_titles) if source is not None else {}

    def titled(name: str) -> str:  # "Handwritten digits (ID) (“digits” in the charts)"
        title = titles.get(name, name)
        return html.escape(title if title == name else f"{title} (“{name}” in the tables and charts)")

    counts = ", ".join(f"{titled(t)}: {len(s.table)}" for t, s in sets.items())
    body = [
        f"<h1>{html.escape(options.title)}</h1>",
        _about_html(source),
        f"<p>ID set: {titled(id_title)}. Images per set: {counts}. Every score: higher = more abnormal. "
        f"Thresholds keep {100 * options.tpr:.0f}% of the ID set.</p>",
        "<h2>Metrics of every method</h2>",
        "<p>FPR95: OOD images accepted when 95% of ID images are. AUROC, AUPR-In (ID positive), "
        "AUPR-Out (OOD positive).</p>",
        *([f"<p>Method settings: {html.escape(options.settings)}.</p>"] if options.settings else []),
        _metrics_html(result),
        *([] if options.published is None else [_published_html(options.published)]),
        "<h2>Score distributions</h2>",
        *(_figure_html(f, f"histogram-{m}") for f, m in zip(figures, result.methods)),
        "<h2>ROC curves (all OOD sets together)</h2>",
        _figure_html(roc, "roc"),
    ]
    if violin is not None:
        body += ["<h2>Per-layer distributions</h2>", _figure_html(violin, "layers")]
    body += ["<h2>Most and least abnormal images</h2>", _gallery_html(result, datasets, mean, std, options, titles)]
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(options.title)}</title><style>{_STYLE}</style>"
        f"<script type='text/javascript'>{get_plotlyjs()}</script></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def write_report(
    result: BenchmarkResult,
    datasets: Mapping[str, ScoreDataset],
    mean: Sequence[float],
    std: Sequence[float],
    path: str | Path,
    options: ReportOptions = ReportOptions(),
    source: ReportSource | None = None,
) -> Path:
    """Writes `report_html` to ``path`` (UTF-8) and returns the path."""
    path = Path(path)
    path.write_text(report_html(result, datasets, mean, std, options, source), encoding="utf-8")
    return path


def comparison_html(
    tables: Mapping[str, pd.DataFrame],
    runs: Sequence[tuple[str, str]] = (),
    title: str = "GAIA Explorer: runs side by side",
) -> str:
    """Scored runs side by side as one HTML document (no script, nothing fetched when opened).

    Args:
        tables: method label -> its `gaia_core.evaluation.runs.side_by_side` table (one row per
            run; columns (set, metric) in percent, the ID accuracy last).
        runs: (run label, its method settings) pairs, listed above the tables.
        title: the HTML <title> and the first heading.
    """
    listed = "".join(f"<li>{html.escape(label)}: {html.escape(settings)}</li>" for label, settings in runs)
    body = [
        f"<h1>{html.escape(title)}</h1>",
        "<p>Every score: higher = more abnormal. FPR95: OOD images accepted when 95% of ID images are. "
        "AUROC, AUPR-In (ID positive), AUPR-Out (OOD positive); all in %. Empty cells: a set the run did "
        "not score.</p>",
        *([f"<h2>Runs</h2><ul>{listed}</ul>"] if runs else []),
    ]
    for method, table in tables.items():
        body += [
            f"<h2>{html.escape(method)}</h2>",
            table.to_html(float_format=lambda v: f"{v:.2f}", classes="metrics", border=0, na_rep=""),
        ]
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
