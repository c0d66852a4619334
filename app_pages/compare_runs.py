"""Compare runs: every scored run in the score cache (model, checkpoint, ID set, OOD sets), two or more
picked and put side by side in one metrics table per method, with the ID accuracy and the near-/far-OOD
group averages where the benchmark defines them; exported as CSV or as a self-contained HTML file.

Nothing is scored here: the metrics come from the cached scores (`gaia_core.evaluation.runs`).
"""

import pandas as pd
import streamlit as st

from app_pages.shell.error_frame import attempt
from app_pages.shell.state import choose
from gaia_core.evaluation.cache import ScoreCache
from gaia_core.evaluation.runs import ID_ACCURACY, comparison_csv, list_runs, side_by_side
from gaia_core.report import comparison_html
from gaia_core.scores import method_label

st.title("Compare runs")
st.caption(
    "Every run scored into the score cache, by any session or the command line. Pick two or more: each "
    "method gets one table, a row per run: FPR95, AUROC, AUPR-In, AUPR-Out (%) per OOD set, the average over "
    "each run's OOD sets (and over its near- and far-OOD groups where the benchmark has them), the ID accuracy."
)


@st.cache_data(max_entries=32, show_spinner="Reading the cached scores…")
def _table(folders: tuple, method: str, _runs) -> pd.DataFrame:
    """`side_by_side` of the runs, read once per runs (their folders and times) and method."""
    return side_by_side(_runs, method)


def _flat(table: pd.DataFrame) -> pd.DataFrame:
    """Columns "SVHN · FPR95", ..., "ID accuracy" for the screen."""
    shown = table.copy()
    shown.columns = ["ID accuracy" if c == ID_ACCURACY else " · ".join(c) for c in table.columns]
    return shown


cache = ScoreCache()
runs = attempt("Reading the score cache", list_runs, cache) or []
if not runs:
    st.info(
        "No scored run in the score cache yet. Score an ID set against OOD sets on **ID vs OOD** (or with "
        "`python -m gaia_core evaluate`); each run is listed here.",
        icon=":material/info:",
    )
    st.page_link("app_pages/id_vs_ood.py", label="Score on ID vs OOD", icon=":material/compare_arrows:")
    st.stop()

labels = [f"{r.label}{' (sets guessed)' if r.inferred else ''}" for r in runs]
labels = [
    f"{label} #{labels[:k].count(label) + 1}" if labels.count(label) > 1 else label for k, label in enumerate(labels)
]
by_label = dict(zip(labels, runs))
choose("compare_runs", labels, labels[:2])
picked = st.multiselect("Runs", labels, key="compare_runs", placeholder="pick two or more")
overview = pd.DataFrame(
    {
        "run": labels,
        "model": [r.model for r in runs],
        "checkpoint": [r.checkpoint for r in runs],
        "ID set": [f"{r.id_set.title} ({r.id_set.size})" for r in runs],
        "OOD sets": [", ".join(s.title for s in r.ood_sets) for r in runs],
        "methods": [", ".join(method_label(m) for m in r.methods) for r in runs],
        "settings": [r.settings.describe(r.methods) for r in runs],
    }
)
with st.expander(f"All {len(runs)} runs in the cache", expanded=len(picked) < 2):
    st.dataframe(overview, hide_index=True, key="compare_overview")
if len(picked) < 2:
    st.info("Pick two or more runs to put them side by side.", icon=":material/touch_app:")
    st.stop()

chosen = [by_label[p] for p in picked]
common = [m for m in chosen[0].methods if all(m in r.methods for r in chosen[1:])]
if not common:
    st.warning("These runs share no method: pick runs scored with at least one method in common.")
    st.stop()
choose("compare_methods", common, common)
methods = st.multiselect("Methods", common, key="compare_methods", format_func=method_label)
folders = tuple((str(s.folder), s.modified) for r in chosen for s in (r.id_set, *r.ood_sets))
tables = {}
for method in methods:
    table = attempt(f"{method_label(method)} side by side", _table, folders, method, chosen)
    if table is None:
        continue
    tables[method_label(method)] = table
    st.subheader(method_label(method))
    st.dataframe(
        _flat(table),
        key=f"compare_table_{method}",
        column_config={c: st.column_config.NumberColumn(format="%.2f") for c in _flat(table).columns},
    )
if not tables:
    st.stop()
st.caption("In %. An empty cell: a set that run did not score. Lower FPR95 is better; higher AUROC and AUPR are.")

stacked = pd.concat(tables, names=["method", "run"])
export = st.columns(2)
export[0].download_button(
    "Download the tables (CSV)",
    comparison_csv(stacked).encode(),
    file_name="gaia_runs.csv",
    mime="text/csv",
    key="compare_csv",
    icon=":material/download:",
)
export[1].download_button(
    "Download the comparison (HTML)",
    lambda: comparison_html(
        tables, [(label, by_label[label].settings.describe(by_label[label].methods)) for label in picked]
    ),
    file_name="gaia_runs.html",
    mime="text/html",
    key="compare_html",
    icon=":material/download:",
    help="One HTML file with these tables; it opens without a network.",
)
