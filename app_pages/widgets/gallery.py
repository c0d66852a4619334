"""Image galleries of scored table rows: thumbnails six to a line, captioned with the set and a
score, paged with previous / next buttons that keep their page across reruns."""

from __future__ import annotations

import pandas as pd
import streamlit as st
import torch

from app_pages.shell.error_frame import attempt
from app_pages.shell.model_choice import LoadedModel, class_name
from app_pages.shell.runs import Scored
from app_pages.widgets.formats import THUMB
from gaia_core.app_support import samples, tables
from gaia_core.data import images
from gaia_core.data.transforms import denormalize
from gaia_core.safety.markdown import escape_markdown
from gaia_core.scores import method_label


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


def _pager(key: str, page: int, pages: int, first: int, last: int, total: int) -> None:
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


def gallery(
    loaded: LoadedModel,
    scored: Scored,
    rows: pd.DataFrame,
    caption_column: str | None,
    limit: int = 24,
    key: str = "gallery",
) -> None:
    """Thumbnails of table rows, six per line, captioned with the set and a score, ``limit`` per
    page with a pager below when there are more.

    Args:
        rows: rows of the scored table (any sets), in the order to show them.
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
    columns = st.columns(6)
    for k, (picture, (_, row)) in enumerate(zip(denormalize(x, loaded.spec.mean, loaded.spec.std), shown.iterrows())):
        text = escape_markdown(samples.row_name(row, scored.datasets, lambda c: class_name(loaded, c)))
        if caption_column:
            text += f" · {method_label(caption_column)} {row[caption_column]:.4g}"
        columns[k % 6].image(images.upscale(picture, THUMB), caption=text, width="stretch")
    if pages > 1:
        _pager(key, page, pages, page * limit + 1, page * limit + len(shown), len(rows))
