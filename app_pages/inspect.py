"""Inspect images: upload images or pick samples; per image its prediction, every score on the ID
reference, attribution maps and its per-layer profile against the ID mean."""

import hashlib

import numpy as np
import streamlit as st

from app_pages import data_sets, frame, model_picker, scoring, state, views
from gaia_core.app_support import channel_values, images, tables
from gaia_core.data import UploadedImages, image_transform
from gaia_core.demo import DEMO_SAMPLES_DIR
from gaia_core.errors import one_line
from gaia_core.evaluation.scoring import evaluate_dataset, method_config
from gaia_core.safety import load_images
from gaia_core.safety.uploads import IMAGE_UPLOAD_MB
from gaia_core.scores import create, create_for_model, method_label

loaded = model_picker.page_model()
st.title("Inspect images")
views.gaia_applicability_note(loaded)
st.caption(
    "Each image is scored by every method and placed on the scores of the ID set: its percentile among "
    "ID images and whether it is flagged as OOD at the threshold that keeps 95% of them."
)

samples = sorted(f"{p.parent.name}/{p.name}" for p in DEMO_SAMPLES_DIR.glob("*/*.png"))
upload_column, sample_column = st.columns([3, 2])
upload_column.file_uploader(
    "Upload images (PNG, JPEG, GIF, BMP, TIFF, WebP, PPM)",
    accept_multiple_files=True,
    key="inspect_upload",
    max_upload_size=IMAGE_UPLOAD_MB,
    on_change=state.remember_uploads,
    args=("inspect_upload", "inspect_files"),
    help="Files are checked by content and size; a bad file gets its own message and the others are still used.",
)
state.choose("inspect_samples", samples, ["digits/0.png", "letters/1.png"] if loaded.spec.family == "demo" else [])
sample_column.multiselect("…or pick samples of the demo's sets", samples, key="inspect_samples")

uploads = st.session_state.get("inspect_files") or [
    (f.name, f.getvalue()) for f in st.session_state.get("inspect_upload") or []
]
if uploads and not st.session_state.get("inspect_upload"):
    upload_column.caption(
        f"Still inspecting {len(uploads)} uploaded image(s) from before; remove them with "
        "the button or upload new ones."
    )
    if upload_column.button("Forget uploaded images", key="inspect_forget"):
        st.session_state["inspect_files"] = []
        st.rerun()
files = list(uploads) + [(name, (DEMO_SAMPLES_DIR / name).read_bytes()) for name in st.session_state["inspect_samples"]]
if not files:
    st.info(
        "Upload one or more images, or pick samples, to see how abnormal they look to the model.",
        icon=":material/upload:",
    )
    st.stop()

good = []
for name, data in files:
    accepted, rejected = load_images([(name, data)])
    for error in rejected:
        st.error(f"**Not inspected:** {one_line(error)}", icon=":material/broken_image:")
    good.extend((name, data) for _ in accepted)
if not good:
    st.stop()

reference = scoring.reference(loaded)
methods = (
    reference.methods
    if reference is not None
    else [create_for_model(m, loaded.spec.std) for m in data_sets.ALL_METHODS if not create(m).needs_fit]
)
if reference is None:
    st.caption("ReAct needs the ID reference (it is fitted on ID data); it is added when the reference is ready.")


@st.cache_resource(max_entries=32, show_spinner="Scoring the images…")
def score_images(model_key, digests, methods_key, batch_size, _model, _files, _transform, _methods):
    dataset = UploadedImages(_files, _transform, name="inspected")
    return dataset, evaluate_dataset(_model, dataset, _methods, batch_size=batch_size, keep_channels=True)


digests = tuple(hashlib.sha256(data).hexdigest() for _, data in good)
methods_key = repr([method_config(m) for m in methods])
scored = frame.attempt(
    "Scoring failed",
    score_images,
    loaded.key,
    digests,
    methods_key,
    int(st.session_state.get("batch_size", 64)),
    loaded.model,
    good,
    image_transform(loaded.spec),
    methods,
)
if scored is None:
    st.stop()
dataset, result = scored
table = result.table
names = [m.name for m in methods]

thresholds = None if reference is None else tables.thresholds_at_tpr(reference.result.id_scores.table, names)
summary = tables.image_summary(table, names, lambda k: model_picker.class_name(loaded, k), thresholds)
st.subheader(f"{len(table)} image(s)")
event = st.dataframe(
    summary,
    hide_index=True,
    key="inspect_table",
    on_select="rerun",
    selection_mode="single-row",
    column_config={
        "confidence": st.column_config.NumberColumn(format="percent"),
        **{method_label(m): st.column_config.NumberColumn(format="%.4g") for m in names},
    },
)
rows = event.selection.rows if event is not None else []
focus = rows[0] if rows else 0
st.caption("Select a row to see that image in detail; scores are abnormalities, higher = more likely OOD.")

st.subheader(f"Detail: {table.loc[focus, 'sample_id']}")
config, readout = views.attribution_picker()
x = dataset[int(table.loc[focus, "index"])].image
channels = {m: channel_values.row_channels(result.channels[m], focus) for m in result.channels}
views.image_detail(
    loaded,
    x,
    str(table.loc[focus, "sample_id"]),
    table.loc[focus].to_dict(),
    channels,
    reference,
    config,
    readout,
    key="inspect_detail",
)

if reference is not None and config is not None:
    st.subheader("Attribution maps: your images next to ID images")
    id_title = reference.result.id_scores.title
    id_x, id_ids = images.dataset_inputs(
        reference.datasets[id_title], np.linspace(0, len(reference.datasets[id_title]) - 1, 6).astype(int)
    )
    inspected_x, inspected_ids = images.dataset_inputs(dataset, table["index"][:12])
    views.comparison_grid(
        loaded,
        {"Inspected images": (inspected_x, inspected_ids), f"ID: {id_title}": (id_x, id_ids)},
        config,
        readout,
        key="inspect",
    )
