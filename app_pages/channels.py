"""Channel abnormality: per layer, GAIA's per-channel values for ID against OOD; the layer × channel
difference; the channels that separate ID from OOD most; one channel's value per image. Layers
that get the same gradient (twins: identical values) are shown once, under a merged name."""

import streamlit as st

from app_pages.shell import model_choice, scoring_jobs, state
from app_pages.widgets.applicability_note import gaia_applicability_note
from app_pages.widgets.formats import ALL_COLUMNS, PERCENT_FORMAT, SCORE_FORMAT, percent_columns
from app_pages.widgets.gallery import gallery
from gaia_core import charts
from gaia_core.app_support import channel_values, tables
from gaia_core.app_support.samples import sample_names
from gaia_core.evaluation.twins import merge_twins, source_layer, twin_name, twins_present
from gaia_core.scores import GAIA_METHODS, channel_quantity, method_label
from gaia_core.teaching.claims import channel_directions

ALL_OOD = "All OOD sets"
QUANTITY = {
    "gaia_z": f"GAIA-Z: non-zero ratio {channel_quantity('gaia_z')}",
    "gaia_a": f"GAIA-A: channel average {channel_quantity('gaia_a')}",
}
SYMBOL = {"gaia_z": channel_quantity("gaia_z"), "gaia_a": channel_quantity("gaia_a")}
RANKING_SHOWN = 50
# Eight readable headers and a merged layer name do not fit 1024 px beside the sidebar: these show,
# the derived ones (OOD − ID, |AUROC − 50%|, direction) come back with `ALL_COLUMNS` (or one by one
# under the table's "Show/hide columns"). AUROC in percent with one decimal, as on every page.
RANKING_VISIBLE = ("layer", "channel", "id_mean", "ood_mean", "auroc")
RANKING_COLUMN_CONFIG = {
    "layer": st.column_config.TextColumn(
        "layer", help="Tapped layer; twin layers (same gradient, identical values) are merged as 'A = B'."
    ),
    "channel": st.column_config.NumberColumn("channel", help="Channel index within the layer."),
    "id_mean": st.column_config.NumberColumn(
        "ID mean", help="The channel's mean value over the ID images.", format="%.3f"
    ),
    "ood_mean": st.column_config.NumberColumn(
        "OOD mean", help="The channel's mean value over the OOD images.", format="%.3f"
    ),
    "difference": st.column_config.NumberColumn(
        "OOD − ID", help="OOD mean minus ID mean: positive when the channel is higher on OOD images.", format="%.3f"
    ),
    "auroc": st.column_config.NumberColumn(
        "AUROC",
        help="AUROC of this channel's value alone as an OOD score (OOD positive; 50% = no separation).",
        format=PERCENT_FORMAT,
    ),
    "separation": st.column_config.NumberColumn(
        "|AUROC − 50%|",
        help="How far the channel's AUROC is from chance, either way, in percentage points: the ranking's key.",
        format=PERCENT_FORMAT,
    ),
    "direction": st.column_config.TextColumn(
        "direction", help="Whether the channel is higher or lower on OOD images than on ID images."
    ),
}

loaded = model_choice.page_model()
st.title("Channel abnormality")
gaia_applicability_note(loaded)
HEADER = (
    "GAIA-Z looks at r_c, the fraction of non-zero gradient entries of channel c (the zero ratio is "
    "1 − r_c); GAIA-A at u_c / o, the channel-averaged gradient. The paper expects both to be higher on OOD "
    "images; here is where they are and where not, layer by layer and channel by channel."
)
header = st.empty()  # the header, with the verdict of the sets scored once they are known
header.caption(HEADER)
scored = scoring_jobs.needs_benchmark(loaded, "channels")
if scored is None:
    st.stop()
result = scored.result
gaia = [m for m in GAIA_METHODS if m in result.id_scores.channels]
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

ood_sets = ood_titles if ood == ALL_OOD else [ood]
ood_name = "OOD (all sets)" if ood == ALL_OOD else ood
symbol = SYMBOL[method]
twins = scored.twins
id_channels = merge_twins(result.id_scores.channels[method], twins)
ood_channels = merge_twins(
    channel_values.pooled_channels([result.ood_scores[t].channels[method] for t in ood_sets]), twins
)
header.caption(f"{HEADER} {channel_directions(id_channels, ood_channels, symbol).text}")
if merged := twins_present(result.id_scores.channels[method], twins):
    st.caption(
        f"Shown once: {', '.join(f'**{twin_name(group)}**' for group in merged)}. These "
        "layers get exactly the same gradient (e.g. a ResNet block's last norm and its shortcut's norm feed "
        f"one sum), so their {symbol} values are identical; {method_label(method)} still counts both."
    )

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
st.plotly_chart(charts.channel_ranking_figure(ranking, top_k=20), key="ch_ranking")
all_columns = st.toggle(
    ALL_COLUMNS,
    key=state.kept("ch_all_columns"),
    help="OOD − ID, |AUROC − 50%| and direction (hidden so it fits 1024 px).",
)
st.dataframe(  # full width under the chart: its visible columns fit at 1024 px
    percent_columns(ranking.head(RANKING_SHOWN), ["auroc", "separation"]),
    hide_index=True,
    height=420,
    key="ch_ranking_table",
    column_order=None if all_columns else RANKING_VISIBLE,
    column_config=RANKING_COLUMN_CONFIG,
)

st.caption(
    f"The {RANKING_SHOWN} best, sorted by |AUROC − 50%| (how far the channel alone is from chance, either way); "
    f"AUROC above 50%: higher on OOD images. OOD − ID, |AUROC − 50%| and direction: *{ALL_COLUMNS}*."
)

top = [
    f"{layer} · {channel}"
    for layer, channel in zip(ranking["layer"].head(RANKING_SHOWN), ranking["channel"].head(RANKING_SHOWN))
]
state.choose("ch_channel", top, top[0])
chosen = st.selectbox(
    "Channel", top, key="ch_channel", help=f"The {RANKING_SHOWN} best-separating channels, best first."
)
layer, channel = chosen.rsplit(" · ", 1)
source = source_layer(layer)  # a merged twin's values are its first layer's
per_set_values = {
    id_title: result.id_scores.channels[method][source][:, int(channel)],
    **{t: result.ood_scores[t].channels[method][source][:, int(channel)] for t in ood_sets},
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
    # Captioned with the value they were selected by (this channel's), the overall score beside it.
    value_column = f"ch {channel} {symbol}"
    rows = tables.selected_rows(scored.table, picked)
    rows = rows.assign(
        **{value_column: channel_values.values_of_rows(rows, per_set_values)},
        image=sample_names(rows, scored.datasets),
    ).sort_values(value_column, ascending=False, kind="stable")
    st.markdown(f"**{len(rows)} selected image(s)**")
    st.caption(
        f"Captioned with {layer} · channel {channel} · {symbol}, the value they were selected by; "
        f"their overall {method_label(method)} score is beside it in the table."
    )
    gallery(loaded, scored, rows, value_column, key="ch_gallery")
    st.dataframe(
        rows[["image", value_column, method]],
        hide_index=True,
        key="ch_selected_table",
        column_config={
            value_column: st.column_config.NumberColumn(f"{symbol} (ch {channel})", format="%.4g"),
            method: st.column_config.NumberColumn(f"overall {method_label(method)}", format=SCORE_FORMAT),
        },
    )
else:
    st.caption(
        "Drag a box (or a lasso, from the chart's toolbar) round points to see their images; "
        "in Pan or Zoom, a click picks one point. A double click clears the selection."
    )
