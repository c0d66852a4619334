"""Inspect images: upload images or pick samples; per image its prediction (and true label, where it has
one), every score on the ID reference, what the loader did beside what the model sees, attribution maps,
its per-layer profile against the ID mean and each layer's percentile among the ID images."""

import hashlib

import numpy as np
import streamlit as st

from app_pages.shell import defaults, error_frame, model_choice, scoring_jobs, set_choices, state
from app_pages.widgets import sent_image
from app_pages.widgets.applicability_note import gaia_applicability_note
from app_pages.widgets.attribution_views import attribution_picker, comparison_grid, methods_side_by_side
from app_pages.widgets.formats import ALL_COLUMNS, SCORE_FORMAT
from app_pages.widgets.image_detail import ImageDetail, image_detail
from app_pages.widgets.layer_percentile_charts import layer_percentile_charts
from gaia_core.app_support import channel_values, tables
from gaia_core.app_support.inspected import inspected_images, upload_file_name
from gaia_core.app_support.samples import image_name
from gaia_core.app_support.upload_report import loader_notes, preview
from gaia_core.data import images
from gaia_core.data.naming import sample_name, source_index
from gaia_core.data.preprocessing import pixel_transform
from gaia_core.errors import one_line
from gaia_core.evaluation import ood_tables
from gaia_core.evaluation.scoring import evaluate_dataset, method_config
from gaia_core.safety import load_images
from gaia_core.safety.markdown import escape_markdown
from gaia_core.safety.uploads import IMAGE_UPLOAD_MB
from gaia_core.scores import GAIA_METHODS, create, create_for_model, method_label

loaded = model_choice.page_model()
st.title("Inspect images")
gaia_applicability_note(loaded)
st.caption(
    "Each image is scored by every method and placed on the scores of the ID set: its percentile among "
    "ID images and whether it is flagged as OOD at the threshold that keeps 95% of them."
)

# An image sent from Browse images or another image's detail: shown from its scoring run (its scores
# as scored there), instead of the uploads and samples below until the user goes back to them.
sent = sent_image.received("inspect")
if sent is not None:
    received = sent_image.read_back(loaded, sent)
    if received is not None:
        sent_name = image_name(received.row, received.scored.datasets)
        st.subheader(f"Sent here: {escape_markdown(sent_name)} ({escape_markdown(sent.set_title)})")
        sent_config, sent_readout = attribution_picker()
        sent_channels = received.channels
        image_detail(
            loaded,
            ImageDetail(
                received.x,
                sent_name,
                received.row.to_dict(),
                sent_channels,
                received.scored,
                sent_config,
                sent_readout,
                send_to=("what_if",),
            ),
            key="inspect_sent_detail",
        )
        layer_percentile_charts(sent_channels, received.scored.result.id_scores.channels, key="inspect_sent_detail")
    if st.button("Inspect your own images instead", key="inspect_sent_forget", icon=":material/arrow_back:"):
        sent_image.forget("inspect")
        st.rerun()
    st.stop()

catalog = set_choices.sample_catalog()
samples = list(catalog)
# One row each: in a column under 23rem wide Streamlit keeps a multiselect's chips on one line and
# cuts the rest off (the samples picked were hidden at 1024 and 1400 px).
upload_area = st.container()  # the uploader, then what it still holds from before
upload_area.file_uploader(
    "Upload images (PNG, JPEG, GIF, BMP, TIFF, WebP, PPM)",
    accept_multiple_files=True,
    key="inspect_upload",
    max_upload_size=IMAGE_UPLOAD_MB,
    on_change=state.remember_uploads,
    args=("inspect_upload", "inspect_files"),
    help="Files are checked by content and size; a bad file gets its own message and the others are still used.",
)
state.choose("inspect_samples", samples, ["digits/0.png", "letters/1.png"] if loaded.spec.family == "demo" else [])
st.multiselect(
    "…or pick samples of the demo's sets",
    samples,
    key="inspect_samples",
    format_func=set_choices.sample_title,
    help="Named by set and position in the set (a file name such as digits/0.png is not the label).",
)


@st.cache_resource(max_entries=64, show_spinner=False)
def decode(name, digest, _data):
    """One file through the guarded decoder, once per name and content (not on every rerun)."""
    return load_images([(name, _data)])


def decoded_files(files):
    """File name -> LoadedImage of the files the decoder accepts."""
    return {image.name: image for name, data in files for image in decode(name, digest_of(data), data)[0]}


def digest_of(data):
    return hashlib.sha256(data).hexdigest()


# Only the uploads the loader accepted are kept for later visits; a refusal is shown while the
# upload that caused it is in the uploader, never again after leaving the page and coming back.
in_uploader = [(f.name, f.getvalue()) for f in st.session_state.get("inspect_upload") or []]
decoded = {}  # file name -> LoadedImage (what the loader did to it)
if in_uploader:
    kept_files = []
    for name, data in in_uploader:
        accepted, rejected = decode(name, digest_of(data), data)
        for error in rejected:
            st.error(f"**Not inspected:** {escape_markdown(one_line(error))}", icon=":material/broken_image:")
        kept_files.extend((name, data) for _ in accepted)
        decoded |= {image.name: image for image in accepted}
    st.session_state["inspect_files"] = kept_files
uploads = st.session_state.get("inspect_files") or []
if uploads and not in_uploader:
    decoded = decoded_files(uploads)
    upload_area.caption(
        f"Still inspecting {len(uploads)} uploaded image(s) from before; remove them with "
        "the button or upload new ones."
    )
    if upload_area.button("Forget uploaded images", key="inspect_forget"):
        st.session_state["inspect_files"] = []
        st.rerun()
picked = [catalog[path] for path in st.session_state["inspect_samples"]]
if not uploads and not picked:
    st.info(
        "Upload one or more images, or pick samples, to see how abnormal they look to the model.",
        icon=":material/upload:",
    )
    st.stop()

reference = scoring_jobs.reference(loaded)
methods = (
    reference.methods
    if reference is not None
    else [create_for_model(m, loaded.spec.std) for m in set_choices.ALL_METHODS if not create(m).needs_fit]
)
if reference is None:
    st.caption("ReAct needs the ID reference (it is fitted on ID data); it is added when the reference is ready.")


# Uploads go through the upload transform; a picked sample is its set's own item (its pixels through
# the model's array transform), so it scores here as on every other page, not as its 8-bit PNG.
@st.cache_resource(max_entries=32, show_spinner="Scoring the images…")
def score_images(
    model_key,
    names,
    digests,
    sample_paths,
    id_set,
    methods_key,
    batch_size,
    _model,
    _files,
    _samples,
    _transforms,
    _methods,
):
    dataset = inspected_images(_files, _transforms[0], _samples, _transforms[1])
    return dataset, evaluate_dataset(_model, dataset, _methods, batch_size=batch_size, keep_channels=True)


methods_key = repr([method_config(m) for m in methods])
id_set = st.session_state.get("id_set", "")
scored = error_frame.attempt(
    "Scoring failed",
    score_images,
    loaded.key,
    tuple(name for name, _ in uploads),
    tuple(digest_of(data) for _, data in uploads),
    tuple(sample.path for sample in picked),
    id_set,
    methods_key,
    defaults.batch_size(),
    loaded.model,
    list(uploads),
    picked,
    (loaded.upload_transform(id_set), pixel_transform(loaded.spec, id_set, loaded.stated_config)),
    methods,
)
if scored is None:
    st.stop()
dataset, result = scored
table = result.table.assign(label=dataset.labels()[result.table["index"].to_numpy()])  # samples' true labels
names = [m.name for m in methods]

thresholds = None if reference is None else ood_tables.thresholds_at_tpr(reference.result.id_scores.table, names)
summary = tables.image_summary(table, names, lambda k: model_choice.class_name(loaded, k), thresholds)
st.subheader(f"{len(table)} image(s)")
# At first the columns that fit a projector's 1024 px: the verdicts and GAIA's two scores; every
# other method's score comes back with the toggle.
all_columns = st.toggle(
    ALL_COLUMNS, key=state.kept("inspect_all_columns"), help="Every method's score (hidden so the table fits 1024 px)."
)
first = [c for c in summary.columns if c not in {method_label(m) for m in names if m not in GAIA_METHODS}]
event = st.dataframe(
    summary,
    hide_index=True,
    key="inspect_table",
    on_select="rerun",
    selection_mode="single-row",
    column_order=None if all_columns else first,
    column_config={
        "prediction": st.column_config.TextColumn("pred", help="The model's prediction."),
        "confidence": st.column_config.NumberColumn(
            "conf.", format="percent", help="The prediction's softmax probability."
        ),
        "true label": st.column_config.TextColumn("true", help="The sample's true label (none for an upload)."),
        "correct": st.column_config.CheckboxColumn("right", help="Whether the prediction is the true label."),
        "flagged by": st.column_config.TextColumn(
            "flagged by", help="How many methods flag the image as OOD at their 95%-TPR threshold."
        ),
        **{method_label(m): st.column_config.NumberColumn(format=SCORE_FORMAT) for m in names},
    },
)
rows = event.selection.rows if event is not None else []
focus = rows[0] if rows else 0
st.caption("Select a row to see that image in detail; scores are abnormalities, higher = more likely OOD.")

focus_row = table.loc[focus]
st.subheader(f"Detail: {escape_markdown(focus_row['sample_id'])}")
if focus_row["label"] >= 0:
    verdict = "right" if focus_row["pred"] == focus_row["label"] else "wrong"
    st.markdown(
        f"True label **{model_choice.class_name(loaded, int(focus_row['label']))}**: the model's prediction "
        f"**{model_choice.class_name(loaded, int(focus_row['pred']))}** is **{verdict}**."
    )
x = dataset[int(focus_row["index"])].image
file_name = upload_file_name(dataset, int(focus_row["index"]))
model_caption = f"What the model sees ({x.shape[-1]}×{x.shape[-2]}, {'grey' if x.shape[0] == 1 else 'colour'})"
if file_name is None:  # a picked sample: its set's own image, no file decoded
    model_view, notes = st.columns([1, 3])
    model_view.image(
        images.display_image(x, loaded.spec.mean, loaded.spec.std, 128), caption=model_caption, width="stretch"
    )
    notes.markdown(
        f"**The dataset's own image**: {escape_markdown(str(focus_row['sample_id']))} is fed as every "
        "page feeds it (its pixels through the model's preprocessing), so its scores are those of How GAIA works "
        "and What if?. The sample's PNG file is an 8-bit rounding of these pixels and is not what is scored."
    )
elif file_name in decoded:
    as_loaded = decoded[file_name]
    original, model_view, notes = st.columns([1, 1, 2])
    original.image(
        preview(as_loaded.image),
        caption=f"As decoded ({as_loaded.image.width}×{as_loaded.image.height})",
        width="stretch",
    )
    model_view.image(
        images.display_image(x, loaded.spec.mean, loaded.spec.std, 128), caption=model_caption, width="stretch"
    )
    notes.markdown("**What the loader did**\n\n" + "\n".join(f"- {n}" for n in loader_notes(as_loaded, loaded.spec)))
config, readout = attribution_picker()
channels = {m: channel_values.row_channels(result.channels[m], focus) for m in result.channels}
image_detail(
    loaded,
    ImageDetail(x, str(focus_row["sample_id"]), focus_row.to_dict(), channels, reference, config, readout),
    key="inspect_detail",
)
if reference is not None:
    layer_percentile_charts(channels, reference.result.id_scores.channels, key="inspect_detail")
st.markdown("**This image under several attribution methods**")
methods_side_by_side(loaded, x, str(focus_row["sample_id"]), config, key="inspect_detail")

if reference is not None and config is not None:
    st.subheader("Attribution maps: your images next to ID images")
    id_title = reference.result.id_scores.title
    id_data = reference.datasets[id_title]
    id_picks = np.linspace(0, len(id_data) - 1, 6).astype(int)
    id_x, _ = images.dataset_inputs(id_data, id_picks)
    id_ids = [sample_name(id_title, source_index(id_data, i)) for i in id_picks][: len(id_x)]
    inspected_x, inspected_ids = images.dataset_inputs(dataset, table["index"][:12])
    comparison_grid(
        loaded,
        {"Inspected images": (inspected_x, inspected_ids), f"ID: {id_title}": (id_x, id_ids)},
        config,
        readout,
        key="inspect",
    )
