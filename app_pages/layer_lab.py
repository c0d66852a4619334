"""Layer lab: which layers and which aggregation carry GAIA's signal, recomputed from the per-channel
values already kept for every scored image (no model pass)."""

import streamlit as st

from app_pages.shell import model_choice, scoring_jobs, state
from app_pages.widgets.formats import ALL_COLUMNS, PERCENT_FORMAT, percent_columns
from gaia_core.charts.layer_lab import per_layer_figure
from gaia_core.evaluation import layer_lab
from gaia_core.evaluation.layer_lab import AGGREGATION_LABELS, AGGREGATIONS, LayerRecipe, greedy_subset, stages
from gaia_core.evaluation.metrics import METRIC_KEYS, METRICS
from gaia_core.evaluation.paper import layer_setting
from gaia_core.evaluation.twins import twin_name, twins_present
from gaia_core.safety.markdown import escape_markdown
from gaia_core.scores import GAIA_METHODS, method_label


# Keyed by the scoring request (which fixes every kept channel value), the method and the recipe:
# a rerun of the page (any widget click) reads the tables back instead of recomputing them.
@st.cache_data(max_entries=64, show_spinner=False)
def cached_recipe_metrics(request, method, recipe, _id_channels, _ood_channels):
    return layer_lab.recipe_metrics(_id_channels, _ood_channels, recipe)


@st.cache_data(max_entries=16, show_spinner="Measuring each layer alone…")
def cached_per_layer_metrics(request, method, aggregation, k, _id_channels, _ood_channels):
    return layer_lab.per_layer_metrics(_id_channels, _ood_channels, aggregation, k)


loaded = model_choice.page_model()
st.title("Layer lab")
st.caption(
    f"The paper fixes GAIA's layers ({layer_setting(loaded.spec.name)}) and its "
    "aggregation (the mean of squares). Here both can change, and every image's score is recomputed from "
    "its kept per-channel values at once: no model pass."
)
scored = scoring_jobs.needs_benchmark(loaded, "lab")
if scored is None:
    st.stop()
result = scored.result
gaia = [m for m in GAIA_METHODS if result.id_scores.channels.get(m)]
if not gaia:
    st.info(
        "The last scoring kept no GAIA channel values; add GAIA-A or GAIA-Z on **ID vs OOD** and score again.",
        icon=":material/info:",
    )
    st.stop()

# Pickers of names get the full width: in narrow columns their names were cut at 1024 px.
controls = st.columns([1, 1])
state.choose("lab_method", gaia, "gaia_z" if "gaia_z" in gaia else gaia[0])
method = controls[0].radio("Score", gaia, key="lab_method", format_func=method_label)
id_channels = result.id_scores.channels[method]
ood_channels = {title: s.channels[method] for title, s in result.ood_scores.items()}
layers = list(id_channels)
by_stage = stages(layers)

state.choose("lab_aggregation", list(AGGREGATIONS), "mean_square")
aggregation = controls[1].selectbox(
    "Aggregation", list(AGGREGATIONS), key="lab_aggregation", format_func=AGGREGATION_LABELS.get
)
k = 16
if aggregation == "top_k":
    st.session_state.setdefault("lab_k", 16)
    k = controls[1].number_input("k channels", min_value=1, max_value=4096, key=state.kept("lab_k"))
state.choose("lab_stages", list(by_stage), list(by_stage))
picked_stages = st.multiselect("Stages", list(by_stage), key="lab_stages")
in_stages = [layer for layer in layers if any(layer in by_stage[s] for s in picked_stages)]
state.choose(f"lab_layers_{method}", in_stages, in_stages)
chosen = st.multiselect(
    "Layers (network order)", in_stages, key=f"lab_layers_{method}", help="Pick stages first, then drop single layers."
)
if not chosen:
    st.warning("Choose at least one layer.", icon=":material/warning:")
    st.stop()

recipe = LayerRecipe(tuple(chosen), aggregation, int(k))
# Said under each section that uses it: the aggregation picked at the top applies below too.
aggregation_used = AGGREGATION_LABELS[aggregation] + (f", k = {int(k)}" if aggregation == "top_k" else "")
# FPR95 and AUROC fit 1024 px side by side with the paper's; the AUPRs come back with `ALL_COLUMNS`.
FIRST_METRICS = {"fpr95", "auroc"}
all_columns = st.toggle(ALL_COLUMNS, key=state.kept("lab_all_columns"), help="AUPR-In and AUPR-Out too.")


def shown_columns(columns) -> list[str] | None:
    """The columns a metrics table shows: FPR95 and AUROC at first, every one with the toggle."""
    first_labels = {m.label for m in METRICS if m.key in FIRST_METRICS}
    return None if all_columns else [c for c in columns if any(c.endswith(label) for label in first_labels)]


mine = cached_recipe_metrics(scored.request, method, recipe, id_channels, ood_channels)
paper = cached_recipe_metrics(scored.request, method, LayerRecipe(), id_channels, ood_channels)
st.subheader(f"{len(chosen)} of {len(layers)} layers, {AGGREGATION_LABELS[aggregation]}")
side = mine.copy()
for metric in METRICS:
    side[f"paper {metric.label}"] = paper[metric.key]
side = side.rename(columns={m.key: f"yours {m.label}" for m in METRICS})
side = side[[c for m in METRICS for c in (f"yours {m.label}", f"paper {m.label}")]]
st.dataframe(
    percent_columns(side, side.columns),
    column_order=shown_columns(side.columns),
    column_config={c: st.column_config.NumberColumn(format=PERCENT_FORMAT) for c in side.columns},
)
st.caption("'paper' = every layer the values were kept for, mean of squares: the engine's own score.")
st.download_button(
    "Metrics as CSV",
    percent_columns(side, side.columns, unit=True).to_csv(index_label="OOD set").encode(),
    f"layer_lab_{method}.csv",
    "text/csv",
)

st.subheader("Each layer alone")
st.caption(f"Each layer's channels alone, aggregated as chosen above: **{aggregation_used}**.")
per_layer = cached_per_layer_metrics(scored.request, method, aggregation, int(k), id_channels, ood_channels)
st.plotly_chart(
    per_layer_figure(per_layer, f"{method_label(method)}: each layer alone, network order"), key="lab_curve"
)
best = per_layer[per_layer["set"] != "Average"].sort_values("auroc", ascending=False).groupby("set").head(1)
twins = twins_present(id_channels, scored.twins)
named = {layer: twin_name(group) for group in twins for layer in group}
st.caption(
    "Best single layer per OOD set (AUROC): "
    + "; ".join(
        f"{escape_markdown(row.set)}: {named.get(row.layer, row.layer)} ({100 * row.auroc:.1f}%)"
        for row in best.itertuples()
    )
)
if twins:
    st.caption(
        f"Twin layers, equal by construction: {'; '.join(twin_name(group) for group in twins)}. Each pair gets "
        f"exactly the same gradient (a block's last norm and its shortcut's norm feed one sum), so alone they "
        f"score alike; {method_label(method)} counts both, and a subset with both weighs that layer twice."
    )
st.download_button(
    "Per-layer table as CSV",
    percent_columns(per_layer, METRIC_KEYS, unit=True).to_csv(index=False).encode(),
    f"layer_lab_{method}_per_layer.csv",
    "text/csv",
)

st.subheader("Best subset (held out)")
st.caption(
    "Greedy forward selection of layers on a random half of the ID and OOD images, measured on the other half. "
    "Tuning layers on the OOD sets you then report is optimistic: the held-out half is the honest number, "
    "and it still used these OOD sets' kind of images to choose. "
    f"Each candidate subset is aggregated as chosen above: **{aggregation_used}**."
)
if st.button("Search the best subset", key="lab_search"):
    search = greedy_subset(id_channels, ood_channels, aggregation, int(k))
    st.session_state["lab_search_result"] = (method, aggregation, int(k), search)
found = st.session_state.get("lab_search_result")
if found is not None and found[:3] == (method, aggregation, int(k)):
    search = found[3]
    st.markdown(f"Chosen layers, in the order added: **{', '.join(search.layers)}**")
    held_out = search.report.rename(columns={m.key: m.label for m in METRICS})
    default = search.default_report.rename(columns={m.key: f"paper {m.label}" for m in METRICS})
    subset = held_out.join(default)
    st.dataframe(
        percent_columns(subset, subset.columns),
        column_order=shown_columns(subset.columns),
        column_config={c: st.column_config.NumberColumn(format=PERCENT_FORMAT) for c in subset.columns},
    )
    st.download_button(
        "Subset result as CSV",
        percent_columns(subset, subset.columns, unit=True).to_csv(index_label="OOD set").encode(),
        f"layer_lab_{method}_subset.csv",
        "text/csv",
    )
