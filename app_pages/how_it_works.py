"""How GAIA works: a guided walk-through on one ID and one OOD image, from the gradients at a chosen
layer to the two scores, with the formula beside each step."""

import streamlit as st
import torch

from app_pages.shell import error_frame, model_choice, scoring_jobs, set_choices, state
from app_pages.widgets.applicability_note import gaia_applicability_note
from app_pages.widgets.attribution_views import attribution_maps, attribution_picker, overlays
from gaia_core import charts
from gaia_core.app_support import channel_values
from gaia_core.attribution import method_spec
from gaia_core.attribution.overlay import common_vmax
from gaia_core.attribution.readout import READOUTS
from gaia_core.data import images, naming
from gaia_core.device import model_device
from gaia_core.safety.markdown import escape_markdown
from gaia_core.scores import channel_quantity, create, score_many
from gaia_core.scores.taps import default_gaia_a_layers, norm_layers
from gaia_core.scores.walkthrough import gaia_z_gradients, walkthrough
from gaia_core.teaching.claims import published_failures, published_failures_note
from gaia_core.teaching.story import compare_layer, same_gradient_layers

# Gradient tiles drawn per image unless "show all channels" is ticked: 4 x 4 tiles of ~90 px in a
# half-width column at 1024 px (64 tiles there were ~20 px each).
TILES_SHOWN = 16
IMAGE_SIDE = 240  # pixels of each input image: its name fits on one line under it
MAP_SIDE = 256  # pixels of each attribution map

loaded = model_choice.page_model()
st.title("How GAIA works")
applicability = st.container()  # filled once the ID image's set is known
st.caption(
    "One ID image and one OOD image go through the same steps; GAIA's two scores come out at the end. "
    "Pick the images and the layer to look at."
)

options = set_choices.set_options(loaded.spec)
if loaded.spec.family == "demo":
    EXAMPLES = {
        "The paper's story holds: a digit vs. natural patches": ("natural", 0, "layer3.0.bn1"),
        "The story does not hold: a digit vs. textures (more zeros, yet a higher GAIA-Z)": (
            "textures",
            0,
            "layer3.0.bn1",
        ),
    }

    def _apply_example() -> None:
        ood_set, index, layer = EXAMPLES[st.session_state["how_example"]]
        st.session_state.update(
            how_id_set="digits", how_id_index=0, how_ood_set=ood_set, how_ood_index=index, how_layer=layer
        )

    if "how_example" not in st.session_state:
        st.session_state["how_example"] = next(iter(EXAMPLES))
        _apply_example()
    st.radio(
        "Example",
        list(EXAMPLES),
        key=state.kept("how_example"),
        on_change=_apply_example,
        help="Two prepared pairs; change the images or the layer below to explore on your own.",
    )
pick = st.columns([3, 1, 3, 1])
state.choose("how_id_set", options, st.session_state["id_set"])
id_set = pick[0].selectbox("ID image from", options, key="how_id_set", format_func=set_choices.set_title)
ood_default = (st.session_state["ood_sets"] or [o for o in options if o != id_set])[0]
state.choose("how_ood_set", options, ood_default)
ood_set = pick[2].selectbox("OOD image from", options, key="how_ood_set", format_func=set_choices.set_title)
id_data = error_frame.attempt(
    f"{set_choices.set_title(id_set)} is not available", scoring_jobs.get_dataset, loaded, id_set
)
ood_data = error_frame.attempt(
    f"{set_choices.set_title(ood_set)} is not available", scoring_jobs.get_dataset, loaded, ood_set
)
if id_data is None or ood_data is None:
    st.stop()
for key, data, column in (("how_id_index", id_data, pick[1]), ("how_ood_index", ood_data, pick[3])):
    if not 0 <= st.session_state.get(key, 0) < len(data):
        st.session_state[key] = 0
    column.number_input("image #", min_value=0, max_value=len(data) - 1, step=1, key=state.kept(key))
layers = norm_layers(loaded.model)
state.choose("how_layer", layers, default_gaia_a_layers(loaded.model)[0] if layers else None)
if not layers:
    st.error("This model has no normalization layer, so GAIA has nothing to look at.")
    st.stop()
layer = st.selectbox("Layer to look at (normalization layers, network order)", layers, key="how_layer")
with applicability:
    gaia_applicability_note(loaded, id_set)  # checked on this page's ID set, not another page's

x_id, _ = images.dataset_inputs(id_data, [st.session_state["how_id_index"]])
x_ood, _ = images.dataset_inputs(ood_data, [st.session_state["how_ood_index"]])


def _title(data, index: int) -> str:
    return naming.item_name(data, index, lambda c: model_choice.class_name(loaded, c))


id_title = _title(id_data, st.session_state["how_id_index"])
ood_title = _title(ood_data, st.session_state["how_ood_index"])
labels = (f"ID: {id_title}", f"OOD: {ood_title}")
inputs = dict(zip(labels, (x_id[0], x_ood[0])))


@st.cache_resource(max_entries=32, show_spinner="Following the gradients…")
def walk(model_key, sample, layer_name, _model, _x):
    return walkthrough(_model, _x[None].to(model_device(_model)), layer_name)


@st.cache_resource(max_entries=32, show_spinner=False)
def tied(model_key, sample, _model, _x):
    return gaia_z_gradients(_model, _x.to(model_device(_model)))


@st.cache_resource(max_entries=32, show_spinner=False)
def all_layers(model_key, samples, _model, _x):
    results = score_many(_model, _x.to(model_device(_model)), [create("gaia_z"), create("gaia_a")])
    return {name: {lay: v.detach().cpu().numpy() for lay, v in r.channels.items()} for name, r in results.items()}


steps = {
    label: error_frame.attempt(
        "Walk-through failed", walk, loaded.key, (label, id_set, ood_set), layer, loaded.model, x
    )
    for label, x in inputs.items()
}
if any(s is None for s in steps.values()):
    st.stop()
channels = all_layers(loaded.key, (labels, id_set, ood_set), loaded.model, torch.stack(list(inputs.values())))


def side_by_side(draw) -> None:
    for column, (label, step) in zip(st.columns(2), steps.items()):
        with column:
            draw(label, step)


def aggregation(method: str, symbol: str, score_name: str) -> None:
    """Both images' per-channel values of every layer, and how they average into the score."""
    values = {
        label: channel_values.concat_channels(channel_values.row_channels(channels[method], k))
        for k, label in enumerate(labels)
    }
    st.plotly_chart(charts.aggregation_figure(values, symbol, score_name, id_name=labels[0]), key=f"how_agg_{method}")


st.header("1 · Two images")
st.markdown(
    "The classifier (frozen, in eval mode) predicts a class for each. A confident prediction does not "
    "mean the image is in-distribution."
)


def show_input(label, step):
    st.image(
        images.display_image(inputs[label], loaded.spec.mean, loaded.spec.std, IMAGE_SIDE),
        caption=escape_markdown(label),
        width=IMAGE_SIDE,
    )
    st.markdown(
        f"Prediction **{model_choice.class_name(loaded, step.prediction)}**, confidence "
        f"**{100 * step.confidence:.1f}%** · GAIA-Z **{step.gaia_z:.4g}** · GAIA-A **{step.gaia_a:.4g}**"
    )


side_by_side(show_input)

st.header(f"2 · Gradients at {layer}")
st.latex(r"G = \frac{\partial \max_k y_k}{\partial A} \in \mathbb{R}^{C \times H \times W}")
zero_share = {label: float((step.z_gradient == 0).mean()) for label, step in steps.items()}
st.markdown(
    "The gradient of the top logit with respect to the layer's output A. Entries that are **exactly zero** "
    "(grey) belong to units that were off (behind a ReLU). Here "
    + " and ".join(
        f"**{100 * share:.0f}%** of the {label.split(':')[0]} image's entries" for label, share in zero_share.items()
    )
    + " are exactly zero. The paper's hypothesis is that OOD images switch more units on (fewer zeros); "
    "whether these two images do, at this layer, is step 3."
)
all_tiles = st.toggle(
    "Show all channels",
    key=state.kept("how_all_channels"),
    help=f"By default the first {TILES_SHOWN} channels, large enough to read; all of them are small.",
)
side_by_side(
    lambda label, step: st.plotly_chart(
        charts.gradient_grid_figure(
            step.z_gradient,
            max_channels=step.z_gradient.shape[0] if all_tiles else TILES_SHOWN,
            title=label,
            height=None if all_tiles else 440,
        ),
        key=f"how_grid_{label}",
    )
)

r_c = channel_quantity("gaia_z")
st.header(f"3 · {r_c}: the non-zero ratio per channel")
st.latex(r"r_c = \frac{1}{HW} \sum_{h,w} \mathbb{1}\left[G_{c,h,w} \neq 0\right]")
st.markdown(
    f"GAIA-Z's quantity: per channel, the fraction of the gradient's entries that are **not** zero. Fewer zeros "
    f"mean a higher {r_c}."
)
side_by_side(
    lambda label, step: st.plotly_chart(
        charts.nonzero_ratio_bar(step.nonzero_fraction, title=f"{label}: {r_c} per channel"),
        key=f"how_zero_{label}",
    )
)
id_step, ood_step = steps[labels[0]], steps[labels[1]]
facts = compare_layer(
    layer,
    {"ID": id_step.nonzero_fraction, "OOD": ood_step.nonzero_fraction},
    {"ID": id_step.gaia_z, "OOD": ood_step.gaia_z},
)
st.info(facts.text, icon=":material/lightbulb:")
twins = [pair for pair in same_gradient_layers(tied(loaded.key, labels[0], loaded.model, x_id)) if layer in pair]
for a, b in twins:
    other = b if a == layer else a
    st.caption(
        f"{layer} and {other} get exactly the same gradient (in a ResNet block the main branch's last norm and "
        "the shortcut's norm feed one sum), so their r_c are identical and GAIA-Z counts them twice."
    )

st.header("4 · GAIA-Z: zero-deflation over all normalization layers")
st.latex(r"S_Z(x) = \frac{1}{\sum_l C_l} \sum_{l} \sum_{c=1}^{C_l} r_{l,c}^2 \qquad \text{(higher = more likely OOD)}")
aggregation("gaia_z", channel_quantity("gaia_z"), "GAIA-Z")

st.header("5 · GAIA-A: channel-wise average of the gradient")
st.latex(
    r"o = \sqrt{\frac{1}{C_F} \sum_{c} \left| \overline{\frac{\partial \sum_k \log \mathrm{softmax}(y)_k}"
    r"{\partial F_c}} \right|} \qquad u_c = \left| \overline{\frac{\partial \sum_d f_d}{\partial A_c}} \right|"
)
st.markdown(
    "F is the last feature map and f its pooled vector; the bar over a map is its mean over positions. "
    "u_c / o compares each inner channel's average gradient to the output's."
    + (
        ""
        if steps[labels[0]].in_gaia_a
        else f" **{layer} is not one of GAIA-A's inner layers**, so it does "
        "not count in its score; it is shown for comparison."
    )
)
side_by_side(
    lambda label, step: st.plotly_chart(
        charts.channel_average_bar(
            step.channel_ratio,
            title=f"{label}: {channel_quantity('gaia_a')} per channel (o = {step.output_component:.3g})",
        ),
        key=f"how_avg_{label}",
    )
)

st.header("6 · GAIA-A: aggregation over the inner layers")
st.latex(r"S_A(x) = \frac{1}{\sum_l C_l} \sum_{l \in \text{inner}} \sum_{c} \left(\frac{u_{l,c}}{o}\right)^2")
aggregation("gaia_a", channel_quantity("gaia_a"), "GAIA-A")

st.header("7 · The same two images through attribution methods")
config, readout = attribution_picker()
results = None if config is None else [attribution_maps(loaded, x, config) for x in (x_id, x_ood)]
if results is not None and all(r is not None for r in results):
    # One colour scale for both maps; side by side at a size a projector shows.
    vmax = common_vmax([*results[0].maps, *results[1].maps])
    for column, label, x, result in zip(st.columns(2), labels, (x_id, x_ood), results):
        value = float(READOUTS[readout].compute(result.maps[:1])[0])
        column.image(
            overlays(loaded, x, result.maps, vmax)[0],
            caption=f"{escape_markdown(label.split(':')[0])} · {READOUTS[readout].label} {value:.3f}",
            width=MAP_SIDE,
        )
    st.caption(
        f"{method_spec(config.method).label} maps of the images above, one colour scale for both (vmax {vmax:.3g}); "
        f"{READOUTS[readout].description}"
    )

st.header("Where GAIA does not work")
failures = published_failures()
st.markdown(
    "GAIA's premise is that an image unlike the training data switches on units the training data left off. "
    "A later benchmark ran it where the OOD images are the same kind of object with a small difference "
    f"(industrial defects, medical artefacts). {published_failures_note(failures)}"
)
st.dataframe(
    failures,
    hide_index=True,
    key="how_failures",
    column_config={"AUROC (%)": st.column_config.NumberColumn(format="%.2f")},
)
st.caption(
    "Published AUROCs (OOD positive) from the benchmark listing the app quotes for GAIA's results "
    "(gaia_core.evaluation.published); the app has no data for these sets. Step 3's second example shows "
    "a case on the demo where the paper's story does not hold either."
    if loaded.spec.family == "demo"
    else "Published AUROCs (OOD positive) from the benchmark listing the app quotes for GAIA's results "
    "(gaia_core.evaluation.published); the app has no data for these sets."
)
