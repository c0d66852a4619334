"""The app frame: page config and navigation, running a page, and errors shown as messages.

A `gaia_core.errors.GaiaError` (bad input a user can fix) is shown as a message where it
happened; anything else is a bug: logged with its traceback and told as an unexpected error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st
import torch

from app_pages.page_table import PAGES
from gaia_core.demo import ASSETS_DIR
from gaia_core.device import configure_server_threads
from gaia_core.errors import GaiaError, one_line

LOG = logging.getLogger("gaia_explorer")
PAGE_ICON = ASSETS_DIR / "page_icon.png"
T = TypeVar("T")
# Out of memory is the user's to fix too (a smaller batch size or a smaller model).
USER_ERRORS = (GaiaError, torch.OutOfMemoryError)
SERVER_THREADS = configure_server_threads()  # once per server: sessions run in parallel already


def navigation() -> Any:
    """Page config and ``st.navigation`` over `PAGES`; returns the page to run."""
    # A local PNG: a ":material/…:" page icon makes the browser fetch the tab icon from fonts.gstatic.com.
    st.set_page_config(page_title="GAIA Explorer", page_icon=str(PAGE_ICON), layout="wide")
    return st.navigation([st.Page(p.path, title=p.title, icon=p.icon, default=k == 0) for k, p in enumerate(PAGES)])


def run_page(page: Any) -> None:
    """Run a page; a bug (not a user error) is logged with its traceback and told in the page."""
    try:
        page.run()
    except USER_ERRORS as err:
        LOG.info("page %s: %s", page.title, one_line(err))
        st.error(f"**{page.title}:** {one_line(err)}", icon=":material/error:")
    except Exception as err:
        LOG.exception("page %s failed", page.title)
        st.error(
            f"**Unexpected error on this page** ({type(err).__name__}: {one_line(err)}). The details are in "
            "the server log; other pages still work.",
            icon=":material/bug_report:",
        )


def attempt(what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
    """``fn(*args, **kwargs)``, or None after showing a user error as a message."""
    try:
        return fn(*args, **kwargs)
    except USER_ERRORS as err:
        LOG.info("%s: %s", what, one_line(err))
        st.error(f"**{what}:** {one_line(err)}", icon=":material/error:")
        return None
