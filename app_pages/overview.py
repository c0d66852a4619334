"""Overview: GAIA in a few sentences with a picture, the model and data in use, a way into each page."""

import json

import streamlit as st

from app_pages.shell import defaults, model_choice, set_choices
from app_pages.shell.page_table import PAGES
from gaia_core.data import images
from gaia_core.demo import DEMO_REPORT, DEMO_SAMPLES_DIR
from gaia_core.demo.data import DEMO_SETS
from gaia_core.safety import load_image
from gaia_core.safety.markdown import escape_markdown

# Top to bottom: drawn left to right it was wider than the page at 1024 px and shrunk to unreadable text.
PIPELINE = """
digraph gaia {
  rankdir=TB; bgcolor="transparent"; nodesep=0.6; ranksep=0.35;
  node [shape=box, style="rounded,filled", fillcolor="#eef5fb", color="#0072B2", fontname="Helvetica", fontsize=11];
  edge [color="#555555", fontname="Helvetica", fontsize=10];
  x [label="input image x"];
  net [label="classifier\\n(frozen, eval mode)"];
  grads [label="gradients of the output\\nw.r.t. each normalization\\nlayer's feature map A"];
  z [label="GAIA-Z\\nfraction of non-zero\\ngradients per channel r_c", fillcolor="#fbeee6", color="#D55E00"];
  a [label="GAIA-A\\nchannel-average gradient\\nu_c / o", fillcolor="#e6f4ee", color="#009E73"];
  s [label="score = mean over channels\\nof r_c² or (u_c/o)²\\nhigher = more likely OOD", shape=ellipse];
  x -> net -> grads;
  grads -> z [label="zero-deflation"];
  grads -> a [label="channel-wise average"];
  z -> s; a -> s;
}
"""

loaded = model_choice.page_model()
st.title("GAIA Explorer")
st.markdown(
    "A classifier is confident on anything; an **out-of-distribution (OOD)** input, unlike anything it was trained "
    "on, should be caught before its prediction is trusted. **GAIA** (Chen et al., NeurIPS 2023, *Delving into "
    "Gradient-based Attribution Abnormality for OOD Detection*) looks at the gradients that attribution methods "
    "are made of: on in-distribution images most gradient entries of a feature map are exactly zero (ReLUs are "
    "off), while, the paper argues, OOD images switch more units on, so their gradients are **less sparse** (GAIA-Z, "
    "zero-deflation) "
    "and their **channel-wise averages are larger** (GAIA-A). Both scores need one forward and one backward pass, "
    "no training and no OOD data. Every score in this app is an abnormality: **higher = more likely OOD**."
)
st.graphviz_chart(PIPELINE)

st.subheader("Model and data in use")
left, right = st.columns(2)
with left:
    st.markdown(f"**Model:** {escape_markdown(loaded.title)}  \n{loaded.spec.description}")
    if loaded.spec.family == "demo" and DEMO_REPORT.is_file():
        report = json.loads(DEMO_REPORT.read_text())
        st.markdown(
            f"Trained on {report['train_images']} digits; test accuracy "
            f"**{100 * report['test_accuracy']:.2f}%** on {report['test_images']} test digits."
        )
    st.caption(
        f"Batch size {defaults.batch_size()} · at most {defaults.max_per_set()} images per set · change both in "
        "the sidebar."
    )
with right:
    st.markdown(
        f"**ID set:** {escape_markdown(set_choices.set_title(st.session_state['id_set']))}  \n**OOD sets:** "
        + (", ".join(escape_markdown(set_choices.set_title(s)) for s in st.session_state["ood_sets"]) or "none yet")
    )
    if loaded.spec.family == "demo":
        st.caption(
            "All six sets ship with the app (scikit-learn's digits and generated images): nothing is downloaded."
        )

if DEMO_SAMPLES_DIR.is_dir():
    st.markdown("**The demo's sets** (the model was trained on the first; the others are OOD)")
    columns = st.columns(len(DEMO_SETS))
    for column, (name, demo_set) in zip(columns, DEMO_SETS.items()):
        files = sorted((DEMO_SAMPLES_DIR / name).glob("*.png"))[:2]
        pictures = [images.upscale(load_image(f.read_bytes(), f.name), 80) for f in files]
        column.image(pictures, width=80)
        column.caption(demo_set.title)

st.subheader("Pages")
others = PAGES[1:]
# Two cards to a row: a page link's label never wraps, and four to a row cut "Channel abnormality" to
# "Channel abnc" at 1024 px.
columns = [column for _ in range(0, len(others), 2) for column in st.columns(2)]
for column, page in zip(columns, others):
    with column.container(border=True):
        st.page_link(page.path, label=f"**{page.title}**")
        st.caption(page.blurb)
