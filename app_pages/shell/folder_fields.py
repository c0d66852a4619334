"""The sidebar's data folders: the data root (refused with the folders a visitor may use), the
folders of images under it to pick (listed only while the toggle is on, bounded and cached: see
`gaia_core.app_support.folders`), other folders typed one per line, and how a folder becomes labels."""

from __future__ import annotations

import streamlit as st

from app_pages.shell import defaults
from app_pages.shell.set_choices import PICKED, extra_folders, folder_listing
from app_pages.shell.state import kept
from app_pages.shell.typed_paths import data_root_refusal
from gaia_core.safety.markdown import escape_markdown
from gaia_core.safety.paths import allowed_roots

LABELS_RULE = (
    "A folder whose images lie in sub-folders is **labelled**: each sub-folder is a class (sorted names → "
    "0, 1, …). A folder with images directly in it is **unlabelled**."
)


def _folder_picker() -> None:
    """The folders of images under the data root, to pick as sets (listed only while asked for)."""
    if not st.toggle("Pick folders under the data root", key=kept("sb_browse")):
        return
    listing = folder_listing(defaults.data_root())
    if listing is None:
        st.caption("The data root is not a folder you may use: nothing to list.")
        return
    described = {f.path: f for f in listing.folders}
    picked = [p for p in st.session_state.get(PICKED) or () if p not in described]
    st.multiselect(
        "Folders of images",
        [*described, *picked],
        key=kept(PICKED),
        format_func=lambda p: f"{described[p].relative} · {described[p].description}" if p in described else p,
        placeholder="Pick one or more folders",
    )
    if not listing.complete:
        st.caption("The list stops at 3 levels below the data root and 300 folders: type the path of others below.")
    if not listing.folders:
        st.caption("No folder of images under the data root.")


def data_section() -> None:
    """The data root, the folders under it to pick, extra image folders; each refused folder is told under the box."""
    root_refused = data_root_refusal(defaults.data_root())
    refusals = [*([root_refused] if root_refused else []), *extra_folders()[1]]
    with st.expander("Data folders", expanded=bool(refusals)):
        st.text_input(
            "Data root",
            key=kept("data_root"),
            help="Folder holding CIFAR, SVHN, ImageNet, ... (`python -m gaia_core datasets` says what goes where) "
            "and your own folders. Folders you may use: "
            + ", ".join(escape_markdown(str(r)) for r in allowed_roots())
            + ".",
        )
        _folder_picker()
        st.text_area(
            "Extra image folders (one per line)",
            key=kept("extra_folders"),
            help="Any folder of images becomes a set you can pick as ID or OOD; a relative path starts at the data root.",
        )
        st.caption(LABELS_RULE)
        for refusal in refusals:
            st.error(escape_markdown(refusal), icon=":material/error:")
