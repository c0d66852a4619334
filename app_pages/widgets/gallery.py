"""Image galleries of scored table rows: thumbnails three to a line, each captioned on one line
with its file name (or "digits #420" without a file), true and predicted class ("cat_7.png · true
cat · pred dog") and a score under it, paged with previous / next buttons that keep their page
across reruns; the full names and paths of the page's images are listed under it."""

from __future__ import annotations

import pandas as pd
import streamlit as st
import torch

from app_pages.shell.error_frame import attempt
from app_pages.shell.model_choice import LoadedModel
from app_pages.shell.scoring_jobs import Scored
from app_pages.widgets.class_labels import run_names
from app_pages.widgets.formats import THUMB
from gaia_core.app_support import samples, tables
from gaia_core.data import images
from gaia_core.data.transforms import denormalize
from gaia_core.safety.markdown import escape_markdown
from gaia_core.scores import method_label

PER_LINE = 3
# Characters of a caption's first line: three thumbnails to a line are ~177 px wide at a
# projector's 1024 px (sidebar open); 32 characters of the captions' 0.75rem text, spaces and "·"
# included, take ~170 px.
CAPTION_CHARS = 32
# Captions never wrap: what does not fit ends in "…" (the list under the gallery has it in full).
_ONE_LINE = (
    "<style>[class*='-gallery-grid'] [data-testid='stImageCaption'] "
    "{white-space: nowrap; overflow: hidden; text-overflow: ellipsis; font-size: 0.75rem;}</style>"
)


def row_inputs(scored: Scored, rows: pd.DataFrame) -> tuple[torch.Tensor, list[str]]:
    """Model inputs (k, C, H, W) of rows of the scored table (any sets), in row order."""
    inputs, ids = [], []
    for _, row in rows.iterrows():
        x, sample_ids = images.dataset_inputs(scored.datasets[row[tables.SET_COLUMN]], [row["index"]])
        inputs.append(x[0])
        ids.extend(sample_ids)
    return (torch.stack(inputs) if inputs else torch.empty(0)), ids


def _rows_signature(rows: pd.DataFrame) -> int:
    """Which images ``rows`` lists, in order: a new list sends its gallery back to page 1."""
    return hash(tuple(zip(rows[tables.SET_COLUMN].tolist(), rows["index"].tolist())))


def _gallery_page(key: str, rows: pd.DataFrame, pages: int) -> int:
    """The page (0-based) the gallery ``key`` shows: kept across reruns, reset to 0 when its rows
    change, clamped to the pages there are."""
    signature = _rows_signature(rows)
    if st.session_state.get(f"{key}_rows") != signature:
        st.session_state[f"{key}_rows"] = signature
        st.session_state[f"{key}_page"] = 0
    page = min(max(int(st.session_state.get(f"{key}_page", 0)), 0), pages - 1)
    st.session_state[f"{key}_page"] = page
    return page


def _turn_page(key: str, step: int) -> None:
    st.session_state[f"{key}_page"] = int(st.session_state.get(f"{key}_page", 0)) + step


def pager(key: str, page: int, pages: int, first: int, last: int, total: int) -> None:
    """Previous / next buttons around "images first–last of total (page k of n)"."""
    back, where, forward = st.columns([2, 5, 2], vertical_alignment="center")
    back.button(
        "Previous",
        key=f"{key}_prev",
        icon=":material/chevron_left:",
        disabled=page == 0,
        on_click=_turn_page,
        args=(key, -1),
        width="stretch",
    )
    where.caption(f"Images {first}–{last} of {total} (page {page + 1} of {pages})")
    forward.button(
        "Next",
        key=f"{key}_next",
        icon=":material/chevron_right:",
        disabled=page == pages - 1,
        on_click=_turn_page,
        args=(key, 1),
        width="stretch",
    )


def _files_list(scored: Scored, rows: pd.DataFrame, names) -> None:
    """The page's images by full name, classes and path (what a cut caption leaves out)."""
    listing = pd.DataFrame(
        {
            "image": [samples.image_name(r, scored.datasets) for _, r in rows.iterrows()],
            "set": rows[tables.SET_COLUMN].astype(str).to_numpy(),
            "true class": [names.true_text(r[tables.SET_COLUMN], int(r.get("label", -1))) for _, r in rows.iterrows()],
            "predicted class": [names.pred_text(int(p)) for p in rows["pred"]],
            "path": rows["path"].fillna("").astype(str).to_numpy() if "path" in rows.columns else "",
        }
    )
    with st.expander("Names and paths of these images"):
        st.dataframe(listing, hide_index=True)


def gallery(
    loaded: LoadedModel,
    scored: Scored,
    rows: pd.DataFrame,
    caption_column: str | None,
    limit: int = 24,
    key: str = "gallery",
) -> None:
    """Thumbnails of table rows, three per line, each captioned with its name, true and predicted
    class on one line and a score under it, ``limit`` per page with a pager below when there are more.

    Args:
        rows: rows of the scored table (any sets: set, index, path, label, pred), in the order to show them.
        caption_column: a score column to caption each image with (None: none).
        limit: images per page.
        key: the gallery's own key (one per gallery on a page); its page is kept across reruns
            and goes back to the first when ``rows`` change.
    """
    if rows.empty:
        st.caption("No images.")
        return
    pages = -(-len(rows) // limit)
    page = _gallery_page(key, rows, pages)
    shown = rows.iloc[page * limit : (page + 1) * limit]
    x, _ = attempt("Reading the images failed", row_inputs, scored, shown) or (None, None)
    if x is None:
        return
    names = run_names(loaded, scored)
    st.html(_ONE_LINE)
    with st.container(key=f"{key}-gallery-grid"):
        columns = st.columns(PER_LINE)
        pictures = denormalize(x, loaded.spec.mean, loaded.spec.std)
        for k, (picture, (_, row)) in enumerate(zip(pictures, shown.iterrows())):
            text = escape_markdown(samples.row_caption(row, scored.datasets, names, CAPTION_CHARS))
            if caption_column:
                text += f"  \n{method_label(caption_column)} {row[caption_column]:.4g}"
            columns[k % PER_LINE].image(images.upscale(picture, THUMB), caption=text, width="stretch")
    if pages > 1:
        pager(key, page, pages, page * limit + 1, page * limit + len(shown), len(rows))
    _files_list(scored, shown, names)
