"""ID vs OOD: score an ID set against OOD sets; histograms with the 95%-TPR threshold, ROC
curves, the metrics of every method side by side, the images behind a histogram bar, and the
attribution-concentration readout of ID against OOD."""

import numpy as np
import streamlit as st

from app_pages.shell import error_frame, job_progress, model_choice, scoring_jobs, set_choices, state
from app_pages.widgets.applicability_note import gaia_applicability_note
from app_pages.widgets.attribution_views import attribution_picker
from app_pages.widgets.gallery import gallery
from gaia_core import charts
from gaia_core.app_support import tables
from gaia_core.app_support.readouts import FOLDED, readout_separation
from gaia_core.attribution.readout import READOUTS
from gaia_core.charts.distributions import shown_sets
from gaia_core.evaluation import ood_tables
from gaia_core.report import PNG_EXPORT_CONFIG, ReportOptions, model_source, report_html
from gaia_core.safety.markdown import escape_markdown
from gaia_core.scores import method_label
from gaia_core.teaching.claims import below_chance, below_chance_note

ALL_OOD = "All OOD sets together"
AVERAGE = "Average over the OOD sets"
READOUT_BINS = 30
SHOW_ALL = "all OOD sets"
SELECT_HINT = (
    "Drag across bars to see the images behind them (to pick single bars with a click, choose Pan in "
    "the chart's toolbar first)."
)


def show_picker(key: str, ood_titles: list[str]) -> str | None:
    """The "Show" control: every OOD set, or one at a time (the ID set is always drawn); returns
    the OOD set to show alone, or None for all."""
    state.choose(key, [SHOW_ALL, *ood_titles], SHOW_ALL)
    picked = st.segmented_control("Show", [SHOW_ALL, *ood_titles], key=key, format_func=escape_markdown) or SHOW_ALL
    return None if picked == SHOW_ALL else picked


loaded = model_choice.page_model()
st.title("ID vs OOD")
gaia_applicability_note(loaded)
st.caption(
    "Score the in-distribution (ID) set and OOD sets with every method; the detector should give OOD "
    "images higher scores. Thresholds keep 95% of the ID set (TPR 95%)."
)

options = set_choices.set_options(loaded.spec)
# One row each: side by side, set names were cut ("Handwritten d…") at a projector's 1024 px.
st.columns(2)[0].selectbox(
    "ID set", set_choices.id_options(loaded.spec, loaded.model_classes), key="id_set", format_func=set_choices.set_title
)
state.choose("ood_sets", [o for o in options if o != st.session_state["id_set"]], [])
st.multiselect(
    "OOD sets",
    [o for o in options if o != st.session_state["id_set"]],
    key="ood_sets",
    format_func=set_choices.set_title,
)
st.multiselect("Methods", list(set_choices.ALL_METHODS), key="methods", format_func=method_label)
picks = scoring_jobs.make_request(
    loaded, st.session_state["id_set"], st.session_state["ood_sets"], st.session_state["methods"]
)
ready = bool(picks.ood_sets and picks.methods)
clicked = st.button("Score", key="score_button", type="primary", disabled=not ready)
if clicked and scoring_jobs.submit(loaded, picks, retry=True) is not None:
    st.session_state["scoring"] = picks

request, job = scoring_jobs.scored_benchmark(loaded)
if request is None:
    st.info(
        "Pick an ID set and at least one OOD set, then press **Score**."
        if not ready
        else "Press **Score** to score the ID set and the OOD sets with the chosen methods.",
        icon=":material/info:",
    )
    st.stop()
if job is None:
    job = scoring_jobs.submit(loaded, request)
if request != picks:
    st.caption("The results below are for the sets and methods scored last; press **Score** to score the new picks.")
scored = scoring_jobs.warn_skipped(
    job_progress.follow(job, "ood_retry", lambda: scoring_jobs.submit(loaded, request, retry=True))
)
if scored is None:
    st.stop()

result = scored.result
id_title, ood_titles, methods = result.id_scores.title, list(result.ood_scores), result.methods
sets = {id_title: result.id_scores, **result.ood_scores}
colors = charts.dataset_colors(sets, id_title)
accuracy = result.id_accuracy
st.success(
    f"Scored {sum(len(s.table) for s in sets.values())} images: {escape_markdown(id_title)} "
    f"({len(result.id_scores.table)}"
    + (f", accuracy {100 * accuracy:.1f}%" if accuracy is not None else "")
    + ") against "
    + ", ".join(f"{escape_markdown(t)} ({len(s.table)})" for t, s in result.ood_scores.items())
    + ".",
    icon=":material/done_all:",
)
for title, why in result.unreadable_sets.items():  # left out: the readable sets are scored
    st.warning(f"{escape_markdown(title)} was not scored: {escape_markdown(why)}", icon=":material/broken_image:")
for title, s in sets.items():
    if s.skipped:
        first = s.skipped[0]
        st.warning(
            f"{escape_markdown(title)}: {len(s.skipped)} unreadable file(s) skipped, e.g. "
            f"{escape_markdown(first.path or first.sample_id)}: {escape_markdown(first.reason)}"
        )

st.subheader("Metrics of every method")
state.choose("metrics_set", [AVERAGE, *ood_titles], AVERAGE)
which = st.selectbox("OOD set", [AVERAGE, *ood_titles], key="metrics_set")
table = ood_tables.metrics_by_method(result.metrics, None if which == AVERAGE else which)
st.dataframe(charts.style_metrics_table(table), key="metrics_table")
st.caption(
    "FPR95: OOD images accepted when 95% of ID images are. AUROC, AUPR-In (ID positive), AUPR-Out (OOD "
    f"positive). Best per column highlighted. Settings: {escape_markdown(scored.settings_text)}."
)
below = below_chance(result.metrics, ood_titles if which == AVERAGE else [which])
averages = dict(table["auroc"]) if which == AVERAGE else None
if note := below_chance_note(below, id_title, averages):
    st.warning(escape_markdown(note), icon=":material/trending_down:")


def report_ranking() -> str | None:
    """The method the report's galleries open ranked by: the one the histogram shows (None: the report's default)."""
    shown = st.session_state.get("hist_method")
    return shown if shown in methods else None


st.download_button(
    "Download report",
    # Its header names the model, its weights file, preprocessing and the sets' titles; its galleries
    # open ranked by the method the histogram below shows (every method is offered in the file).
    lambda: report_html(
        result,
        scored.datasets,
        loaded.spec.mean,
        loaded.spec.std,
        ReportOptions(settings=scored.settings_text, gallery_method=report_ranking()),
        source=model_source(
            loaded.spec,
            loaded.choice.checkpoint,
            loaded.choice.pretrained,
            {s.title: set_choices.set_title(s.name) for s in sets.values()},
            config=loaded.stated_config,
        ),
    ),
    file_name="gaia_report.html",
    mime="text/html",
    key="report_download",
    icon=":material/download:",
    help="One HTML file with the metrics, charts and image galleries (ranked by the histogram's method, any "
    "other a click away); it names the model that produced it and opens without a network.",
)

st.subheader("Score distributions")
state.choose("hist_method", methods, methods[0])
method = st.segmented_control("Method", methods, key="hist_method", format_func=method_label) or methods[0]
show = show_picker("hist_show", ood_titles)
scores = ood_tables.per_set(sets, method)
threshold = ood_tables.thresholds_at_tpr(result.id_scores.table, [method])[method]
figure = charts.score_histogram(
    scores,
    id_title,
    threshold,
    method_label(method),
    sample_ids=ood_tables.per_set(sets, "sample_id"),
    colors=colors,
    show=show,
)
event = st.plotly_chart(
    figure, key="hist_chart", on_select="rerun", selection_mode=("points", "box"), config=PNG_EXPORT_CONFIG
)
# Bins span every set, shown or not; trace i is the i-th shown set.
shown_scores = {name: scores[name] for name in shown_sets(scores, id_title, show)}
chosen = charts.rows_in_selection(event.selection.points if event else [], shown_scores, charts.histogram_edges(scores))
if chosen:
    picked = tables.selected_rows(scored.table, chosen)
    st.markdown(f"**{len(picked)} image(s) behind the selected bars**")
    gallery(loaded, scored, picked.sort_values(method, ascending=False), method, key="hist_gallery")
else:
    st.caption(SELECT_HINT)

st.subheader("ROC curves")
state.choose("roc_set", [ALL_OOD, *ood_titles], ALL_OOD)
roc_set = st.selectbox("OOD set", [ALL_OOD, *ood_titles], key="roc_set")
ood_parts = ood_titles if roc_set == ALL_OOD else [roc_set]
curves = {
    m: charts.roc_points(
        result.id_scores.scores(m), np.concatenate([result.ood_scores[t].scores(m) for t in ood_parts])
    )
    for m in methods
}
st.plotly_chart(charts.roc_figure(curves), key="roc_chart", config=PNG_EXPORT_CONFIG)

st.subheader("How concentrated are the attribution maps?")
st.caption(
    "GAIA's premise: explanations of OOD images are abnormal. Here the attribution map of each image is "
    "reduced to one number and compared between ID and OOD."
)
# The readouts' job is keyed by the method and noise tunnel alone: the layer, sign and baseline stay
# at their defaults here (the readouts measure |map|, whatever sign a map is shown in).
config, readout = attribution_picker(settings=False)
st.session_state.setdefault("readout_samples", 60)
samples = st.number_input("Images per set", min_value=5, max_value=2000, step=20, key=state.kept("readout_samples"))
if config is not None and st.button("Compute the maps", key="readout_button"):
    st.session_state["readouts"] = scoring_jobs.submit_readouts(loaded, scored, config, int(samples)).key
readout_key = st.session_state.get("readouts")
if readout_key is None or readout_key.scoring != request:
    st.info(
        "Pick a method and press **Compute the maps** to compare ID and OOD attribution maps.", icon=":material/info:"
    )
    st.stop()
values = job_progress.follow(job_progress.job_runner().get(readout_key), "readout_retry")
if values is not None:
    st.caption(
        f"{readout_key.method}{' + ' + readout_key.noise_tunnel if readout_key.noise_tunnel else ''}, "
        f"{readout_key.max_samples} images per set at most."
    )
    per_set_readouts = {t: r.values[readout] for t, r in values.items()}
    readout_show = show_picker("readout_show", ood_titles)
    separation = error_frame.attempt("Readout AUROC", readout_separation, per_set_readouts, id_title, readout) or {}
    separation = {t: s for t, s in separation.items() if s is not None and readout_show in (None, t)}
    summary = [s.describe(t) for t, s in separation.items()]
    figure = error_frame.attempt(
        "Readout chart",
        charts.readout_distribution_figure,
        per_set_readouts,
        READOUTS[readout].label,
        id_title,
        bins=READOUT_BINS,
        sample_ids={t: r.sample_ids for t, r in values.items()},
        colors=colors,
        show=readout_show,
        note=" · ".join(summary) if len(summary) == 1 else None,
    )
    if figure is not None:
        event = st.plotly_chart(
            figure, key="readout_chart", on_select="rerun", selection_mode=("points", "box"), config=PNG_EXPORT_CONFIG
        )
        if len(summary) > 1:
            st.caption(
                f"AUROC of ID vs each OOD set on this readout alone ({FOLDED}): "
                + "; ".join(escape_markdown(s.short(t)) for t, s in separation.items())
                + "."
            )
        shown_readouts = {t: per_set_readouts[t] for t in shown_sets(per_set_readouts, id_title, readout_show)}
        chosen = charts.rows_in_selection(
            event.selection.points if event else [],
            shown_readouts,
            charts.histogram_edges(per_set_readouts, READOUT_BINS),
        )
        if chosen:
            ids = {t: [values[t].sample_ids[k] for k in rows] for t, rows in chosen.items()}
            picked = tables.selected_rows(scored.table, ids, column="sample_id")
            st.markdown(f"**{len(picked)} image(s) behind the selected bars**")
            gallery(loaded, scored, picked, None, key="readout_gallery")
        else:
            st.caption(SELECT_HINT)
