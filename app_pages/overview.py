"""Overview: GAIA in a few sentences with a picture, the model and data in use, a way into each page."""

import json

import numpy as np
import streamlit as st
import torch

from app_pages.shell import defaults, model_choice, scoring_jobs, set_choices
from app_pages.shell.page_table import PAGES
from gaia_core.data import images
from gaia_core.demo import DEMO_REPORT, DEMO_SAMPLES_DIR
from gaia_core.demo.data import DEMO_SETS
from gaia_core.device import model_device
from gaia_core.errors import GaiaError, one_line
from gaia_core.safety import load_image
from gaia_core.safety.markdown import escape_markdown
from gaia_core.scores import gaia_a
from gaia_core.scores.walkthrough import zero_shares
from gaia_core.teaching.claims import score_verdict, sparsity_verdict

CHECKED_IMAGES = 8  # images per set the hypotheses are checked on

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
    "are made of. The paper's hypothesis: on in-distribution images many gradient entries of a feature map are "
    "exactly zero (units behind a ReLU are off), while OOD images switch more units on, so their gradients are "
    "**less sparse** (GAIA-Z, zero-deflation) and their **channel-wise averages are larger** (GAIA-A). Both scores "
    "need one forward and one backward pass, no training and no OOD data. Every score in this app is an "
    "abnormality: **higher = more likely OOD**."
)
st.graphviz_chart(PIPELINE)


@st.cache_resource(max_entries=16, show_spinner="Checking the hypothesis on a few images…")
def hypothesis_check(model_key, id_set, ood_sets, limit, data_root):
    """The share of zero gradient entries and GAIA-A on a few images of the ID set and of the OOD sets."""
    picked = {}
    for name in (id_set, *ood_sets):
        data = scoring_jobs.get_dataset(loaded, name)
        count = min(CHECKED_IMAGES if name == id_set else max(2, CHECKED_IMAGES // len(ood_sets)), len(data))
        picks = np.linspace(0, len(data) - 1, count).astype(int)
        x = torch.stack([data[int(i)].image for i in picks]).to(model_device(loaded.model))
        picked[name] = (zero_shares(loaded.model, x), gaia_a(loaded.model, x).score.detach().cpu().numpy())
    ood = [picked[name] for name in ood_sets]
    return (
        picked[id_set],
        (np.concatenate([z for z, _ in ood]), np.concatenate([a for _, a in ood])) if ood else None,
    )


def hypothesis_verdict() -> None:
    """The paper's two claims checked on the model and the sets in use."""
    id_set, ood_sets = st.session_state["id_set"], list(st.session_state["ood_sets"])
    try:
        id_part, ood_part = hypothesis_check(
            loaded.key, id_set, tuple(ood_sets), defaults.max_per_set(), defaults.data_root()
        )
    except GaiaError as error:
        st.caption(f"The hypothesis could not be checked on the sets in use: {escape_markdown(one_line(error))}")
        return
    id_title = set_choices.set_title(id_set)
    ood_title = ", ".join(set_choices.set_title(s) for s in ood_sets) or "no OOD set"
    zeros = sparsity_verdict(id_part[0], None if ood_part is None else ood_part[0], id_title, ood_title)
    text = zeros.text
    if ood_part is not None:
        text += " " + score_verdict(id_part[1], ood_part[1], "GAIA-A (the channel averages)").text
    st.info(f"**On this model:** {escape_markdown(text)}", icon=":material/fact_check:")


hypothesis_verdict()

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

if loaded.spec.family == "demo" and DEMO_SAMPLES_DIR.is_dir():
    st.markdown("**The demo's sets** (the demo model was trained on the first; the others are OOD)")
    # Three to a row: six to a row gave each set ~110 px at 1024 px and its name two lines.
    columns = [column for _ in range(0, len(DEMO_SETS), 3) for column in st.columns(3)]
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
