"""Browse images: every scored image of every set of the session's scoring run (ID vs OOD's, else the
ID reference) in one paged grid and one table, filtered and sorted by set, class, prediction, right or
wrong, any method's score or ID percentile, how many methods flag it and file name; any image in
detail, sent to Inspect images or What if?; the selection as CSV.

The table of every image (`gaia_core.app_support.image_browser.build_frame`) is built once per
scoring run and kept on the run (`Scored.derived`); a rerun only filters, sorts and pages it.
"""

import streamlit as st

from app_pages.shell import job_progress, model_choice, scoring_jobs, set_choices, state
from app_pages.shell.error_frame import attempt
from app_pages.widgets.attribution_views import attribution_picker
from app_pages.widgets.class_labels import run_names
from app_pages.widgets.formats import SCORE_FORMAT
from app_pages.widgets.gallery import gallery, pager
from app_pages.widgets.image_detail import ImageDetail, image_detail
from app_pages.widgets.layer_percentile_charts import layer_percentile_charts
from gaia_core.app_support import channel_values
from gaia_core.app_support import image_browser as ib
from gaia_core.data import images
from gaia_core.evaluation.ood_tables import thresholds_at_tpr
from gaia_core.safety.markdown import escape_markdown
from gaia_core.scores import method_label

TPR = 0.95
PAGE_SIZES = (24, 48, 96)
CORRECT = {"all": "all", "right": "right", "wrong": "wrong"}  # short: the control fits its column at 1024 px
SCORE_KINDS = {"percentile": "ID percentile", "score": "score"}
FRAME_ORDER = "(scoring order)"

loaded = model_choice.page_model()
st.title("Browse images")
st.caption(
    "Every scored image of every set in one grid and one table: filter, sort, open any image in detail and "
    f"send it to Inspect images or What if?. An image is flagged by a method when its score is above the "
    f"threshold that keeps {TPR:.0%} of the ID set; scores are abnormalities, higher = more likely OOD."
)


def session_run():
    """The session's benchmark (ID vs OOD); without one, the ID reference where it is scored already;
    else None after saying what to do."""
    request = scoring_jobs.scored_benchmark(loaded)[0]
    if request is None:
        reference = scoring_jobs.make_request(loaded, st.session_state["id_set"], (), set_choices.ALL_METHODS)
        done = job_progress.job_runner().get(reference)
        if done is not None and done.ok:
            return done.result
    scored = scoring_jobs.needs_benchmark(loaded, "browse")
    if scored is None and request is None:
        st.page_link("app_pages/id_vs_ood.py", label="Pick the sets on ID vs OOD", icon=":material/compare_arrows:")
    return scored


def browser_frame(scored):
    """Every image of the run, one row each (built on the run's first visit, then kept on it)."""
    key = ("browser", TPR)
    if key not in scored.derived:
        names = run_names(loaded, scored)
        result = scored.result
        thresholds = thresholds_at_tpr(result.id_scores.table, result.methods, TPR)
        frame = attempt(
            "The image table",
            ib.build_frame,
            result.id_scores,
            result.ood_scores,
            thresholds,
            class_names=names.model,
            set_class_names=names.sets,
            datasets=scored.datasets,
        )
        if frame is None:
            return None
        scored.derived[key] = frame
    return scored.derived[key]


scored = session_run()
if scored is None:
    st.stop()
frame = browser_frame(scored)
if frame is None:
    st.stop()
methods = list(scored.result.methods)
sets = list(frame[ib.SET].cat.categories)
st.caption(
    f"{len(frame):,} images: "
    + ", ".join(f"{escape_markdown(s)} ({n:,})" for s, n in frame[ib.SET].value_counts(sort=False).items())
)

# --- filters -----------------------------------------------------------------------------------
first = st.columns([3, 3, 2])  # the segmented control needs room for "wrong predictions" at 1024 px
state.choose("browse_sets", sets, [])
picked_sets = first[0].multiselect("Sets", sets, key="browse_sets", placeholder="every set")
state.choose("browse_correct", list(CORRECT), "all")
correct = first[1].segmented_control(
    "Prediction",
    list(CORRECT),
    key="browse_correct",
    format_func=CORRECT.get,
    help="Right or wrong predictions; only ID images have a label.",
)
name_contains = first[2].text_input("File name contains", key=state.kept("browse_name"))

second = st.columns(2)
true_options = [c for c in frame[ib.TRUE].cat.categories if c != "−"]
pred_options = list(frame[ib.PRED].cat.categories)
state.choose("browse_true", true_options, [])
state.choose("browse_pred", pred_options, [])
true_classes = second[0].multiselect("True class", true_options, key="browse_true", placeholder="every class")
pred_classes = second[1].multiselect("Predicted class", pred_options, key="browse_pred", placeholder="every class")

third = st.columns([2, 3, 3, 2])
state.choose("browse_method", methods, "gaia_a" if "gaia_a" in methods else methods[0])
method = third[0].selectbox("Score of", methods, key="browse_method", format_func=method_label)
state.choose("browse_kind", list(SCORE_KINDS), "percentile")
kind = third[1].selectbox("as", list(SCORE_KINDS), key="browse_kind", format_func=SCORE_KINDS.get)
if kind == "percentile":
    low, high, step = 0.0, 100.0, 0.5
else:
    values = frame[method]
    low, high = float(values.min()), float(values.max())
    step = (high - low) / 200 if high > low else 1.0
range_key = f"browse_range_{method}_{kind}"  # a new method or kind starts at its full range
chosen_range = third[2].slider("between", low, high, (low, high), step=step, key=range_key, format="%.4g")
min_flagged = third[3].number_input(
    "Flagged by at least", min_value=0, max_value=len(methods), step=1, key=state.kept("browse_min_flagged")
)
ranges = ((method, *chosen_range),) if chosen_range != (low, high) else ()
filters = ib.BrowserFilters(
    sets=tuple(picked_sets),
    true_classes=tuple(true_classes),
    predicted_classes=tuple(pred_classes),
    correct={"right": True, "wrong": False}.get(correct or "all"),
    score_ranges=ranges if kind == "score" else (),
    percentile_ranges=ranges if kind == "percentile" else (),
    min_flagged=int(min_flagged),
    name_contains=name_contains.strip(),
)

fourth = st.columns([3, 3, 2])
sort_columns = [FRAME_ORDER, *methods, *(ib.percentile_column(m) for m in methods)]
sort_columns += [ib.FLAGGED, "confidence", ib.FILE, ib.TRUE, ib.PRED]
labels = {m: method_label(m) for m in methods} | {
    ib.percentile_column(m): f"{method_label(m)} ID percentile" for m in methods
}
state.choose("browse_sort", sort_columns, FRAME_ORDER)
sort_by = fourth[0].selectbox("Sort by", sort_columns, key="browse_sort", format_func=lambda c: labels.get(c, c))
state.choose("browse_order", ["desc", "asc"], "desc")
order = fourth[1].segmented_control(
    "Order", ["desc", "asc"], key="browse_order", format_func={"desc": "largest first", "asc": "smallest first"}.get
)
state.choose("browse_page_size", list(PAGE_SIZES), PAGE_SIZES[0])
page_size = fourth[2].selectbox("Images per page", PAGE_SIZES, key="browse_page_size")
sort = ib.SortOrder(None if sort_by == FRAME_ORDER else sort_by, descending=(order or "desc") == "desc")

# --- the page of images --------------------------------------------------------------------------
signature = hash((filters, sort, page_size))
if st.session_state.get("browse_signature") != signature:  # new filters: back to the first page
    st.session_state["browse_signature"] = signature
    st.session_state["browse_page"] = 0
shown = attempt("Filtering", ib.query, frame, filters, sort, int(st.session_state.get("browse_page", 0)), page_size)
if shown is None:
    st.stop()
st.session_state["browse_page"] = shown.page
st.subheader(f"{shown.total:,} of {len(frame):,} images")
st.download_button(
    "Export the selection (CSV)",
    lambda: ib.export_csv(frame, filters, sort),
    file_name="gaia_images.csv",
    mime="text/csv",
    key="browse_csv",
    icon=":material/download:",
    disabled=shown.total == 0,
    help="Every image that passes the filters (all pages), in this order, with every method's score and ID percentile.",
)
if shown.total == 0:
    st.info("No image passes these filters.", icon=":material/filter_alt_off:")
    st.stop()
first_shown = shown.page * page_size + 1
pager("browse", shown.page, shown.pages, first_shown, first_shown + len(shown.rows) - 1, shown.total)
caption_column = sort.column if sort.column in methods else method
gallery(loaded, scored, shown.rows, caption_column, limit=len(shown.rows), key="browse_grid")

columns = [ib.FILE, ib.SET, ib.TRUE, ib.PRED, ib.CORRECT, "confidence", ib.FLAGGED, *methods]
columns += [ib.percentile_column(m) for m in methods] + ["path"]
event = st.dataframe(
    shown.rows[columns].rename(columns=labels),
    hide_index=True,
    key=f"browse_table_{signature}_{shown.page}",
    on_select="rerun",
    selection_mode="single-row",
    column_config={
        "confidence": st.column_config.NumberColumn(format="percent"),
        ib.FLAGGED: st.column_config.NumberColumn(f"flagged by (of {len(methods)})"),
        **{method_label(m): st.column_config.NumberColumn(format=SCORE_FORMAT) for m in methods},
        **{labels[ib.percentile_column(m)]: st.column_config.NumberColumn(format="%.1f") for m in methods},
    },
)
picked = event.selection.rows if event is not None else []
if picked:
    row = shown.rows.iloc[picked[0]]
    st.session_state["browse_focus"] = (str(row[ib.SET]), int(row[ib.INDEX]))

# --- one image in detail -------------------------------------------------------------------------
st.subheader("Detail")
focus = st.session_state.get("browse_focus")
match = frame[(frame[ib.SET] == focus[0]) & (frame[ib.INDEX] == focus[1])] if focus else frame.iloc[:0]
if match.empty:
    st.info("Select a row of the table to see that image in detail.", icon=":material/touch_app:")
    st.stop()
row = match.iloc[0]
result = scored.result
set_scores = result.id_scores if row[ib.IS_ID] else result.ood_scores[row[ib.SET]]
x = attempt("Reading the image failed", images.dataset_inputs, scored.datasets[row[ib.SET]], [row[ib.INDEX]])
if x is None:
    st.stop()
position = int(row[ib.POSITION])
channels = {m: channel_values.row_channels(set_scores.channels[m], position) for m in set_scores.channels}
config, readout = attribution_picker()
details = row.to_dict() | {ib.SET: str(row[ib.SET])}
name = str(row[ib.FILE])
image_detail(loaded, ImageDetail(x[0][0], name, details, channels, scored, config, readout, TPR), key="browse_detail")
layer_percentile_charts(channels, result.id_scores.channels, key="browse_detail")
