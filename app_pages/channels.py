"""Channel abnormality: per layer, GAIA's per-channel values for ID against OOD; the layer × channel
difference; the channels that separate ID from OOD most; one channel's value per image."""

import streamlit as st

from app_pages import data_sets, model_picker, scoring, state, views
from gaia_core import charts
from gaia_core.app_support import channel_values, tables

ALL_OOD = "All OOD sets together"
QUANTITY = {"gaia_z": "GAIA-Z: non-zero ratio r_c", "gaia_a": "GAIA-A: channel average u_c / o"}
SYMBOL = {"gaia_z": "r_c", "gaia_a": "u_c / o"}

loaded = model_picker.page_model()
st.title("Channel abnormality")
views.gaia_applicability_note(loaded)
st.caption(
    "GAIA-Z looks at r_c, the fraction of non-zero gradient entries of channel c (the zero ratio is "
    "1 − r_c); GAIA-A at u_c / o, the channel-averaged gradient. Both are higher on OOD images: here is "
    "where, layer by layer and channel by channel."
)
scored = scoring.needs_benchmark(loaded, "channels")
if scored is None:
    st.stop()
result = scored.result
gaia = [m for m in data_sets.GAIA_METHODS if m in result.id_scores.channels]
if not gaia:
    st.info(
        "The last scoring did not include GAIA-A or GAIA-Z; add them on **ID vs OOD** and score again.",
        icon=":material/info:",
    )
    st.stop()
id_title, ood_titles = result.id_scores.title, list(result.ood_scores)
colors = charts.dataset_colors([id_title, *ood_titles], id_title)

pick = st.columns([2, 2, 1, 2])
state.choose("ch_method", gaia, gaia[-1])
method = pick[0].radio("Quantity", gaia, key="ch_method", format_func=QUANTITY.get)
state.choose("ch_ood", [ALL_OOD, *ood_titles], ALL_OOD)
ood = pick[1].selectbox("OOD set", [ALL_OOD, *ood_titles], key="ch_ood")
state.choose("ch_kind", ["violin", "box"], "violin")
kind = pick[2].radio("Plot", ["violin", "box"], key="ch_kind")
state.choose("ch_per", ["image", "channel"], "image")
per = pick[3].radio(
    "One value per",
    ["image", "channel"],
    key="ch_per",
    format_func={"image": "image (mean over the layer's channels)", "channel": "image and channel (sampled)"}.get,
)

id_channels = result.id_scores.channels[method]
ood_sets = ood_titles if ood == ALL_OOD else [ood]
ood_name = "OOD (all sets)" if ood == ALL_OOD else ood
ood_channels = channel_values.pooled_channels([result.ood_scores[t].channels[method] for t in ood_sets])
symbol = SYMBOL[method]

st.plotly_chart(
    charts.layer_distribution_figure(
        {
            id_title: channel_values.layer_values(id_channels, per),
            ood_name: channel_values.layer_values(ood_channels, per),
        },
        kind=kind,
        y_label=symbol,
        id_name=id_title,
        title=f"{QUANTITY[method]} per layer, ID vs {ood_name}",
        colors={**colors, ood_name: colors.get(ood, "#E69F00")},
    ),
    key="ch_layers",
)
st.plotly_chart(
    charts.channel_heatmap(
        charts.channel_difference(id_channels, ood_channels),
        title=f"{ood_name} mean − ID mean of {symbol}, per layer and channel",
        value_label=f"Δ {symbol}",
    ),
    key="ch_heatmap",
)
st.caption(f"Red: {symbol} higher on OOD images than on ID images; blue: lower. Blank: the layer has fewer channels.")

st.subheader("Channels that separate ID from OOD most")
ranking = charts.rank_channels(id_channels, ood_channels)
left, right = st.columns([3, 2])
left.plotly_chart(charts.channel_ranking_figure(ranking, top_k=20), key="ch_ranking")
right.dataframe(
    ranking.head(50),
    hide_index=True,
    height=480,
    key="ch_ranking_table",
    column_config={
        c: st.column_config.NumberColumn(format="%.3f")
        for c in ("id_mean", "ood_mean", "difference", "auroc", "separation")
    },
)

top = [f"{layer} · {channel}" for layer, channel in zip(ranking["layer"].head(50), ranking["channel"].head(50))]
state.choose("ch_channel", top, top[0])
chosen = st.selectbox("Channel", top, key="ch_channel", help="The 50 best-separating channels, best first.")
layer, channel = chosen.rsplit(" · ", 1)
per_set_values = {
    id_title: result.id_scores.channels[method][layer][:, int(channel)],
    **{t: result.ood_scores[t].channels[method][layer][:, int(channel)] for t in ood_sets},
}
event = st.plotly_chart(
    charts.channel_values_figure(
        per_set_values,
        f"{layer} · channel {channel} · {symbol}",
        sample_ids={
            id_title: result.id_scores.table["sample_id"],
            **{t: result.ood_scores[t].table["sample_id"] for t in ood_sets},
        },
        id_name=id_title,
        colors=colors,
    ),
    key="ch_values",
    on_select="rerun",
    selection_mode=("points", "box", "lasso"),
)
picked = channel_values.points_to_rows(event.selection.points if event else [], list(per_set_values))
if picked:
    rows = tables.selected_rows(scored.table, picked)
    st.markdown(f"**{len(rows)} selected image(s)**")
    views.gallery(loaded, scored, rows, method)
else:
    st.caption("Select points (click, box or lasso) to see their images.")
