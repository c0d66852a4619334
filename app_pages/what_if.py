"""What if?: start from a sample, an upload or a drawing, push one perturbation and watch every
method's score (as a percentile of the ID reference), the prediction and GAIA's layers move."""

import hashlib

import numpy as np
import streamlit as st
import torch
from PIL import Image

from app_pages.shell import error_frame, model_choice, runs, set_choices, state
from app_pages.widgets import sent_image
from gaia_core.app_support.samples import image_name, input_pixels
from gaia_core.charts.what_if import layer_profile_bars, percentile_curves, prediction_curve
from gaia_core.data.preprocessing import input_transform
from gaia_core.demo import DEMO_SAMPLES_DIR
from gaia_core.errors import one_line
from gaia_core.evaluation.scoring import method_config
from gaia_core.safety import load_images
from gaia_core.safety.markdown import escape_markdown
from gaia_core.safety.uploads import IMAGE_UPLOAD_MB
from gaia_core.scores import GAIA_METHODS, channel_quantity, method_label
from gaia_core.teaching.drawing import drawing_to_demo_pixels
from gaia_core.teaching.images import picture_to_pixels, pixels_to_uint8
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


def _sample_pixels(name: str) -> np.ndarray:
    with Image.open(DEMO_SAMPLES_DIR / name) as picture:
        return picture_to_pixels(picture, spec.in_channels, spec.input_size)


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
    other = _sample_pixels(
        st.selectbox("Blend toward", samples, key="whatif_other", format_func=set_choices.sample_title)
    )

reference = runs.reference(loaded)
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
strength = st.select_slider(
    "Strength", strengths, value=strengths[0], key="whatif_strength", format_func="{:.2f}".format
)
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
for column, method in zip(st.columns(2), GAIA_METHODS):
    quantity = channel_quantity(method, layer_mean=True)
    if method in sweep.layer_profiles:
        column.plotly_chart(
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
