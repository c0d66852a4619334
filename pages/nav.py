"""The page list, importable without the heavy modules so app.py can declare it first thing.

While a ``pages/`` folder sits next to app.py, Streamlit starts a server's first session in its
folder-based navigation until app.py calls ``st.navigation``; declaring the pages before torch
is imported keeps that moment short.
"""

import streamlit as st

PAGE_FILES = (
    ("pages/overview.py", "Overview", ":material/home:"),
    ("pages/inspect.py", "Inspect images", ":material/image_search:"),
    ("pages/id_vs_ood.py", "ID vs OOD", ":material/compare_arrows:"),
    ("pages/channels.py", "Channel abnormality", ":material/grid_on:"),
    ("pages/misflagged.py", "Misflagged samples", ":material/report:"),
    ("pages/how_it_works.py", "How GAIA works", ":material/school:"),
)


def navigation():
    """Page config and ``st.navigation`` over `PAGE_FILES`; returns the page to run."""
    st.set_page_config(page_title="GAIA Explorer", page_icon=":material/radar:", layout="wide")
    return st.navigation([st.Page(path, title=title, icon=icon, default=k == 0)
                          for k, (path, title, icon) in enumerate(PAGE_FILES)])
