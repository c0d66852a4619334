"""Misflagged samples: at an adjustable TPR threshold, ID images flagged as OOD and OOD images
accepted as ID for any method, every ID image the model gets wrong, where GAIA and MSP disagree,
each image's detail (only of an image the lists show), CSV export."""

from functools import partial

import pandas as pd
import streamlit as st

from app_pages.shell import model_choice, scoring_jobs, state
from app_pages.widgets.attribution_views import attribution_picker, comparison_grid, methods_side_by_side
from app_pages.widgets.formats import ALL_COLUMNS, SCORE_FORMAT, mistakes_sentence, plural
from app_pages.widgets.gallery import gallery, row_inputs
from app_pages.widgets.image_detail import ImageDetail, image_detail
from app_pages.widgets.layer_percentile_charts import layer_percentile_charts
from gaia_core.app_support import channel_values, tables
from gaia_core.app_support.samples import sample_names
from gaia_core.data import images
from gaia_core.data.naming import with_label
from gaia_core.evaluation import ood_tables
from gaia_core.safety.markdown import escape_markdown
from gaia_core.scores import GAIA_METHODS, method_label

# "image" names a row by its set and index ("digits #17"): a file name or "digits:17" reads like a label.
SHOWN = ["image", tables.SET_COLUMN, "label", "pred", "correct", "confidence"]
# What the tables show at first, so they fit a projector's 1024 px: the image, what the model said and
# the chosen method's score; the set (in the image's name), the other methods and the set's own id
# come back with `ALL_COLUMNS`.
FIRST = ["image", "label", "pred", "correct", "confidence"]
HEADERS = {
    "image": st.column_config.TextColumn("image", help="The set and the image's position in it."),
    "label": st.column_config.NumberColumn("true", help="The image's true label."),
    "pred": st.column_config.NumberColumn("pred", help="The model's prediction."),
    "correct": st.column_config.CheckboxColumn("right", help="Whether the prediction is the true label."),
    "confidence": st.column_config.NumberColumn(
        "conf.", format="percent", help="The prediction's softmax probability."
    ),
    "flagged": st.column_config.CheckboxColumn("flagged", help="Flagged as OOD by the method at this threshold."),
}

loaded = model_choice.page_model()
st.title("Misflagged samples")
st.caption("The threshold keeps the chosen fraction of ID images (TPR); a score above it flags an image as OOD.")
scored = scoring_jobs.needs_benchmark(loaded, "misflagged")
if scored is None:
    st.stop()
methods = scored.result.methods
table = scored.table.assign(
    correct=tables.model_correct(scored.table), image=sample_names(scored.table, scored.datasets)
)

pick = st.columns([2, 2, 2])
state.choose("mis_method", methods, "gaia_a" if "gaia_a" in methods else methods[0])
method = pick[0].selectbox("Method", methods, key="mis_method", format_func=method_label)
st.session_state.setdefault("mis_tpr", 0.95)
tpr = pick[1].slider("ID images kept (TPR)", min_value=0.5, max_value=1.0, step=0.01, key=state.kept("mis_tpr"))
state.choose("mis_sort", ["desc", "asc"], "desc")
order = pick[2].radio(
    "Order",
    ["desc", "asc"],
    key="mis_sort",
    horizontal=True,
    format_func={"desc": "most abnormal first", "asc": "least abnormal first"}.get,
)
thresholds = ood_tables.thresholds_at_tpr(scored.result.id_scores.table, methods, tpr)

gaia = method if method in GAIA_METHODS else next((m for m in GAIA_METHODS if m in methods), None)
views_available = {
    "errors": f"errors of {method_label(method)}",
    "model_wrong": "every ID image the model gets wrong",
}
if gaia is not None and "msp" in methods:
    views_available |= {
        "a_only": f"{method_label(gaia)} flags, MSP does not",
        "b_only": f"MSP flags, {method_label(gaia)} does not",
    }
state.choose("mis_filter", list(views_available), "errors")
shown = st.radio("Show", list(views_available), key="mis_filter", horizontal=True, format_func=views_available.get)

if shown == "errors":
    id_rows, ood_rows = tables.misflagged(table, method, thresholds[method], order == "desc")
    titles = ("ID images flagged as OOD", "OOD images accepted as ID")
    wrong, labelled = tables.mistakes_among(id_rows)
    st.caption(
        f"{method_label(method)} threshold {thresholds[method]:.6g}: {plural(len(id_rows), 'ID false alarm')}, "
        f"{plural(len(ood_rows), 'OOD image')} missed. {mistakes_sentence(wrong, labelled)}"
    )
elif shown == "model_wrong":
    # The model's own mistakes, flagged or not: most are not false alarms at all.
    is_wrong = table[tables.IS_ID_COLUMN] & table["correct"].eq(False)
    id_rows = table[is_wrong].assign(flagged=table[method] > thresholds[method])
    id_rows = id_rows.sort_values(method, ascending=order == "asc", kind="stable")
    ood_rows = table.iloc[:0]
    titles = ("ID images the model misclassifies, flagged or not", None)
    flagged = int(id_rows["flagged"].sum())
    st.caption(
        f"The model gets {plural(len(id_rows), 'ID image')} wrong; {method_label(method)} flags "
        f"{flagged} of them as OOD at threshold {thresholds[method]:.6g} and accepts {len(id_rows) - flagged}."
    )
else:
    rows = tables.disagreement(table, gaia, "msp", thresholds, shown)
    rows = rows.sort_values(method, ascending=order == "asc", kind="stable")
    id_rows, ood_rows = rows[rows[tables.IS_ID_COLUMN]], rows[~rows[tables.IS_ID_COLUMN]]
    titles = ("ID images (a false alarm of the method that flags them)", "OOD images (caught by one method only)")
if shown != "model_wrong" and st.checkbox("Only ID images the model misclassifies", key=state.kept("mis_wrong_only")):
    id_rows = id_rows[id_rows["correct"].eq(False)]
all_columns = st.toggle(
    ALL_COLUMNS,
    key=state.kept("mis_all_columns"),
    help="The set, every other method's score and the set's own id (hidden so the tables fit 1024 px).",
)


def remember_focus(table_key: str, rows: pd.DataFrame) -> None:
    selected = st.session_state[table_key].selection.rows
    if selected:
        st.session_state["mis_focus"] = (
            str(rows.iloc[selected[0]]["sample_id"]),
            rows.iloc[selected[0]][tables.SET_COLUMN],
        )


# The tables' keys name the list they show: when the method, order, threshold or filter changes,
# the row tick starts afresh instead of staying on a position that now holds another image;
# the detail below follows the image (its sample id), not the row.
list_state = f"{method}_{order}_{tpr:.2f}_{shown}_{bool(st.session_state.get('mis_wrong_only'))}"
for title, rows, key in (
    (titles[0], id_rows, f"mis_id_rows_{list_state}"),
    (titles[1], ood_rows, f"mis_ood_rows_{list_state}"),
):
    if title is None:
        continue
    st.subheader(f"{title} ({len(rows)})")
    if rows.empty:
        st.caption(
            "None: the model gets every ID image right." if shown == "model_wrong" else "None at this threshold."
        )
        continue
    ids = SHOWN if rows is id_rows else [c for c in SHOWN if c not in ("label", "correct")]  # OOD images have no label
    extra = ["flagged"] if "flagged" in rows.columns else []
    columns = ids + extra + [method] + [m for m in methods if m != method] + ["sample_id"]  # the set's own id, last
    first = [c for c in FIRST if c in ids] + extra + [method_label(method)]
    st.dataframe(
        rows[columns].rename(columns={m: method_label(m) for m in methods}),
        hide_index=True,
        height=240,
        key=key,
        on_select=partial(remember_focus, key, rows),
        selection_mode="single-row",
        column_order=None if all_columns else first,
        column_config={
            **HEADERS,
            # enough significant digits to compare each score with the threshold (GAIA-A's are ~1e-2)
            **{method_label(m): st.column_config.NumberColumn(format=SCORE_FORMAT) for m in methods},
        },
    )
    gallery(loaded, scored, rows, method, limit=12, key=key.split("_rows_")[0] + "_gallery")

listed = [(title, rows) for title, rows in zip(titles, (id_rows, ood_rows)) if title is not None]
both = pd.concat([rows.assign(error=title) for title, rows in listed])
export = both[["error", *SHOWN, "index", "path", *methods, "sample_id"]]
st.download_button(
    "Export the list (CSV)",
    export.to_csv(index=False).encode(),
    file_name=f"misflagged_{method}.csv",
    mime="text/csv",
    key="mis_csv",
    disabled=both.empty,
)

st.subheader("Detail")
focus = st.session_state.get("mis_focus")
# The detail shows only an image the lists above show: after the method, threshold, order or list
# changed, an image picked before may be in neither.
match = both[(both["sample_id"] == focus[0]) & (both[tables.SET_COLUMN] == focus[1])] if focus else both.iloc[:0]
config, readout = attribution_picker()
if match.empty and focus:
    gone = table[(table["sample_id"] == focus[0]) & (table[tables.SET_COLUMN] == focus[1])]
    name = gone["image"].iloc[0] if len(gone) else focus[0]
    st.caption(
        f"{escape_markdown(name)}, picked before, is in neither list now: select a row above to see an image in detail."
    )
elif match.empty:
    st.info("Select a row in one of the tables above to see that image in detail.", icon=":material/touch_app:")
else:
    row = match.iloc[0]
    scores = scored.result.id_scores if row[tables.IS_ID_COLUMN] else scored.result.ood_scores[row[tables.SET_COLUMN]]
    x, _ = images.dataset_inputs(scored.datasets[row[tables.SET_COLUMN]], [row["index"]])
    channels = {
        m: channel_values.row_channels(scores.channels[m], int(row[tables.ROW_COLUMN])) for m in scores.channels
    }
    name = with_label(row["image"], int(row["label"]), lambda k: model_choice.class_name(loaded, k))
    image_detail(
        loaded, ImageDetail(x[0], name, row.to_dict(), channels, scored, config, readout, tpr), key="mis_detail"
    )
    layer_percentile_charts(channels, scored.result.id_scores.channels, key="mis_detail")
    st.markdown("**This image under several attribution methods**")
    methods_side_by_side(loaded, x[0], row["image"], config, key="mis_detail")

if config is not None and not both.empty:
    st.subheader("Attribution maps side by side")
    groups = {}
    for title, rows in listed:
        x, ids = row_inputs(scored, rows.head(6))
        groups[title] = (x, list(rows["image"].head(6)) if len(ids) == len(rows.head(6)) else ids)
    comparison_grid(loaded, groups, config, readout, key="mis")
