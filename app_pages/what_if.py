"""What if?: start from a sample, an upload or a drawing, push one perturbation and watch every
method's score (as a percentile of the ID reference), the prediction and GAIA's layers move."""

import hashlib

import numpy as np
import streamlit as st
import torch
from PIL import Image

from app_pages.shell import error_frame, model_choice, scoring_jobs, set_choices, state
from app_pages.widgets import class_labels, sent_image
from app_pages.widgets.formats import SCORE_FORMAT
from gaia_core.app_support.samples import image_name, input_pixels, row_name
from gaia_core.app_support.tables import SET_COLUMN
from gaia_core.charts.what_if import layer_profile_bars, percentile_curves, prediction_curve
from gaia_core.data.base import UnreadableSample
from gaia_core.data.preprocessing import input_transform
from gaia_core.errors import one_line
from gaia_core.evaluation.scoring import method_config
from gaia_core.safety import load_images
from gaia_core.safety.markdown import escape_markdown
from gaia_core.safety.uploads import IMAGE_UPLOAD_MB
from gaia_core.scores import GAIA_METHODS, channel_quantity, method_label
from gaia_core.teaching.drawing import drawing_to_demo_pixels
from gaia_core.teaching.explain import compare_traits, nearest_images, traits_note, verdict_table
from gaia_core.teaching.images import fit_pixels, picture_to_pixels, pixels_to_uint8, sample_pixels
from gaia_core.teaching.perturbations import PERTURBATIONS
from gaia_core.teaching.sweep import IdReference, SweepConfig, run_sweep

loaded = model_choice.page_model()
spec = loaded.spec
st.title("What if?")
st.caption(
    "Start from an image, pick a perturbation and move its strength: every method's score is shown as a "
    "percentile of the ID reference, so all share one axis; above the dashed line a method flags the image as OOD."
)

samples = list(set_choices.sample_catalog())
ID_PIXELS_SHOWN = 500  # ID images the nearest-image search and the pixel traits compare with


def _sample_pixels(name: str) -> np.ndarray:
    # The set's own pixels, as every page that scores the set feeds them (not the 8-bit PNG).
    return sample_pixels(set_choices.sample_catalog()[name])


# An image sent from Browse images or an image's detail is one more start (`app_pages.widgets.sent_image`).
sent = sent_image.received("what_if")
starts = ["A sample", "An upload", "A drawing", *([sent_image.WHAT_IF_SOURCE] if sent is not None else [])]
state.choose("whatif_source", starts, "A sample")
source = st.radio("Start from", starts, horizontal=True, key="whatif_source")
pixels = None
if source == sent_image.WHAT_IF_SOURCE:
    received = sent_image.read_back(loaded, sent)
    if received is not None:
        pixels = input_pixels(received.x, spec.mean, spec.std)
        st.caption(
            f"{escape_markdown(image_name(received.row, received.scored.datasets))} of "
            f"{escape_markdown(sent.set_title)}, as the model saw it when it was scored."
        )
elif source == "A sample":
    state.choose("whatif_sample", samples, "digits/0.png" if "digits/0.png" in samples else samples[0])
    name = st.selectbox("Sample", samples, key="whatif_sample", format_func=set_choices.sample_title)
    pixels = _sample_pixels(name)
elif source == "An upload":
    upload = st.file_uploader("Upload one image", key="whatif_upload", max_upload_size=IMAGE_UPLOAD_MB)
    if upload is not None:
        accepted, rejected = load_images([(upload.name, upload.getvalue())])
        for error in rejected:
            st.error(f"**Not used:** {escape_markdown(one_line(error))}", icon=":material/broken_image:")
        if accepted:
            pixels = picture_to_pixels(accepted[0].image, spec.in_channels, spec.input_size)
else:
    from streamlit_drawable_canvas import st_canvas

    st.caption(
        "Draw a digit, a letter or a scribble in white on black. On the demo it is framed, averaged down to 8×8 "
        "and upscaled exactly as the digits were."
    )
    # The canvas's toolbar (undo, redo, clear) floats 2.65rem above its top edge on hover: this gap
    # keeps it off the instructions.
    st.space(40)
    drawn = st_canvas(
        stroke_width=22,
        stroke_color="#FFFFFF",
        background_color="#000000",
        height=256,
        width=256,
        drawing_mode="freedraw",
        return_image_data=True,
        key="whatif_canvas",
    )
    image_data = drawn.image_data if drawn is not None else None
    if image_data is not None and np.asarray(image_data)[..., :3].max() > 0:
        if spec.family == "demo":
            pixels = error_frame.attempt(
                "The drawing could not be used", drawing_to_demo_pixels, np.asarray(image_data)
            )
        else:
            pixels = picture_to_pixels(Image.fromarray(np.asarray(image_data)), spec.in_channels, spec.input_size)
if pixels is None:
    st.info("Pick a sample, upload an image or draw on the canvas to start.", icon=":material/draw:")
    st.stop()

left, right = st.columns(2)
perturbation = left.selectbox(
    "Perturbation", list(PERTURBATIONS), format_func=lambda n: PERTURBATIONS[n].title, key="whatif_perturbation"
)
seed = int(right.number_input("Seed (noise, square, patches)", 0, 10_000, 0, key="whatif_seed"))
st.caption(f"At strength 1: {PERTURBATIONS[perturbation].at_full_strength}.")
other = None
if PERTURBATIONS[perturbation].needs_other:
    state.choose("whatif_other", samples, "textures/0.png" if "textures/0.png" in samples else samples[-1])
    other = fit_pixels(
        _sample_pixels(st.selectbox("Blend toward", samples, key="whatif_other", format_func=set_choices.sample_title)),
        pixels.shape,
    )

reference = scoring_jobs.reference(loaded)
if reference is None:
    st.info("The curves need the ID reference; it is being scored in the background.", icon=":material/hourglass:")
    st.stop()
methods = reference.methods
id_reference = IdReference.from_scores(reference.result.id_scores)


@st.cache_resource(max_entries=64, show_spinner="Scoring every strength…")
def sweep_of(model_key, digest, perturbation, seed, other_digest, methods_key, _model, _methods, _pixels, _other):
    config = SweepConfig(perturbation, seed=seed)
    other_tensor = None if _other is None else torch.as_tensor(_other)
    return run_sweep(
        _model,
        _methods,
        input_transform(spec, st.session_state.get("id_set", "")).array(),
        torch.as_tensor(_pixels),
        config,
        id_reference,
        other_tensor,
    )


def _digest(array) -> str | None:
    return (
        None if array is None else hashlib.sha256(np.ascontiguousarray(array, dtype=np.float32).tobytes()).hexdigest()
    )


sweep = error_frame.attempt(
    "The sweep failed",
    sweep_of,
    loaded.key,
    _digest(pixels),
    perturbation,
    seed,
    _digest(other),
    repr([method_config(m) for m in methods]),
    loaded.model,
    methods,
    pixels,
    other,
)
if sweep is None:
    st.stop()

strengths = [float(s) for s in sweep.strengths]
# One strength for every start image, kept while the slider is not drawn (no image yet): a slider
# drawn again with a default would show it while the page computed with the kept value.
state.choose("whatif_strength", strengths, strengths[0])
strength = st.select_slider("Strength", strengths, key="whatif_strength", format_func="{:.2f}".format)
index = sweep.index(strength)

image_column, numbers_column = st.columns([1, 2])
image_column.image(pixels_to_uint8(sweep.images[index]), caption=f"strength {strength:.2f}", width=192, clamp=True)
prediction = model_choice.class_name(loaded, int(sweep.predictions[index]))
flagged_by = [method_label(m) for m, f in sweep.flagged.items() if f[index]]
numbers_column.metric("Prediction", prediction, f"{sweep.confidences[index]:.0%} confidence", delta_color="off")
numbers_column.write(
    f"Flagged as OOD by **{len(flagged_by)} of {len(sweep.flagged)}** methods"
    + (f": {', '.join(flagged_by)}." if flagged_by else ".")
)
firsts = {m: s for m, s in sweep.first_flag.items() if s is not None}
if firsts:
    earliest = min(firsts.values())
    numbers_column.write(
        "First to flag: "
        + ", ".join(method_label(m) for m, s in firsts.items() if s == earliest)
        + f" at strength {earliest:.2f}; never flagged: "
        + (", ".join(method_label(m) for m in sweep.first_flag if m not in firsts) or "none")
        + "."
    )
else:
    numbers_column.write("No method flags the image at any strength.")
if firsts and sweep.all_flag:
    numbers_column.write("Every method flags it at strength " + ", ".join(f"{s:.2f}" for s in sweep.all_flag) + ".")
elif firsts:
    numbers_column.write("At no strength does every method flag it.")
if sweep.flips:
    numbers_column.write("The prediction flips at strength " + ", ".join(f"{s:.2f}" for s in sweep.flips) + ".")

st.subheader(f"Every method at strength {strength:.2f}")
st.dataframe(
    verdict_table(sweep.scores, sweep.percentiles, sweep.thresholds, sweep.flagged, sweep.first_flag, index),
    hide_index=True,
    key="whatif_verdicts",
    column_config={
        "score": st.column_config.NumberColumn(format=SCORE_FORMAT, help="Higher = more likely OOD."),
        "threshold": st.column_config.NumberColumn(
            format=SCORE_FORMAT, help="The method flags the image when its score is above this (95% of ID kept)."
        ),
        "percentile among ID": st.column_config.NumberColumn(
            format="%.1f", help="Percent of the ID images whose score is at or below this image's."
        ),
        "first flags at": st.column_config.TextColumn(help="The smallest strength at which the method flags it."),
    },
)


@st.cache_resource(max_entries=8, show_spinner="Reading the ID images…")
def id_pixels(model_key, id_title, count, _dataset, mean, std):
    """Up to ``count`` evenly spaced ID images as pixels (N, C, H, W) in [0, 1], with their names."""
    picks = np.unique(np.linspace(0, len(_dataset) - 1, min(count, len(_dataset))).astype(int))
    kept, names = [], []
    class_name = class_labels.set_class_namer(loaded, _dataset)  # a folder's sub-folder names where it has them
    for i in picks:
        try:
            sample = _dataset[int(i)]
        except UnreadableSample:
            continue
        kept.append(sample.image.numpy())
        row = {SET_COLUMN: id_title, "index": int(i), "path": sample.path, "label": sample.label}
        names.append(row_name(row, {id_title: _dataset}, class_name))  # its file name, as in the galleries
    shape = (1, -1, 1, 1)
    return np.stack(kept) * np.reshape(std, shape) + np.reshape(mean, shape), names


id_title = reference.result.id_scores.title
pool = error_frame.attempt(
    "The ID images could not be read",
    id_pixels,
    loaded.key,
    id_title,
    ID_PIXELS_SHOWN,
    reference.datasets[id_title],
    tuple(spec.mean),
    tuple(spec.std),
)
shown = sweep.images[index]
if pool is not None and pool[0].shape[1:] == shown.shape and len(pool[0]) >= 2:
    ids, id_names = pool
    near = nearest_images(shown, ids)
    st.subheader(f"Why {len(flagged_by)} of {len(sweep.flagged)} methods flag it at strength {strength:.2f}")
    st.markdown(
        "A method flags the image when its score is above its threshold, which 95% of the ID images' scores are "
        f"not (the table). Compared with {len(ids)} images of {escape_markdown(id_title)}:"
    )
    traits = compare_traits(shown, ids)
    st.markdown("- " + escape_markdown(traits_note(traits, id_title)))
    st.markdown(
        "- It is one of these ID images itself (distance 0 to the first below)."
        if near.distances[0] == 0
        else f"- Its nearest ID image is {near.distances[0]:.3f} away (root-mean-square pixel difference); ID "
        f"images are typically {near.typical_distance:.3f} from their own nearest one, and "
        f"{near.percentile:.0f}% of them are closer to theirs than this image is to its."
    )
    st.image(
        [pixels_to_uint8(ids[i]) for i in near.indices],
        caption=[escape_markdown(id_names[i]) for i in near.indices],
        width=192,
        clamp=True,
    )
    st.caption(
        "The nearest ID images in pixels, nearest first; their distances to this image: "
        + ", ".join(f"{d:.3f}" for d in near.distances)
        + "."
    )

strip = list(range(0, len(strengths), 2))
st.image(
    [pixels_to_uint8(sweep.images[i]) for i in strip],
    caption=[f"{strengths[i]:.1f}" for i in strip],
    width=64,
    clamp=True,
)
curves = percentile_curves(
    sweep.strengths, sweep.percentiles, sweep.threshold_percentiles, sweep.first_flag, sweep.flips, current=strength
)
st.plotly_chart(curves, key="whatif_curves")
st.plotly_chart(
    prediction_curve(
        sweep.strengths,
        sweep.predictions,
        sweep.confidences,
        sweep.flips,
        lambda c: model_choice.class_name(loaded, c),
        current=strength,
    ),
    key="whatif_prediction",
)
# One under the other, full width: the layer names sit on the left, horizontal.
for method in GAIA_METHODS:
    quantity = channel_quantity(method, layer_mean=True)
    if method in sweep.layer_profiles:
        st.plotly_chart(
            layer_profile_bars(
                sweep.strengths,
                sweep.layer_profiles[method],
                index,
                method,
                id_reference.layer_means.get(method, {}),
                quantity,
            ),
            key=f"whatif_profile_{method}",
        )
