"""The app's frame around the pages: page config and the navigation over `page_table.PAGES`."""

from __future__ import annotations

from typing import Any

import streamlit as st

from app_pages.shell.page_table import PAGES
from gaia_core.demo import ASSETS_DIR

PAGE_ICON = ASSETS_DIR / "page_icon.png"


def navigation() -> Any:
    """Page config and ``st.navigation`` over `PAGES`; returns the page to run."""
    # A local PNG: a ":material/…:" page icon makes the browser fetch the tab icon from fonts.gstatic.com.
    st.set_page_config(page_title="GAIA Explorer", page_icon=str(PAGE_ICON), layout="wide")
    return st.navigation([st.Page(p.path, title=p.title, icon=p.icon, default=k == 0) for k, p in enumerate(PAGES)])
