"""The error frame: errors shown as messages where they happened, never as a traceback.

A `gaia_core.errors.GaiaError` (bad input a user can fix) is shown as a message where it
happened; anything else is a bug: logged with its traceback and told as an unexpected error,
and the rest of the app goes on. Pages and the sidebar's sections run under `guarded`;
`attempt` shows a user error in place and lets a bug reach the frame around it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st
import torch

from gaia_core.errors import GaiaError, one_line
from gaia_core.safety.markdown import escape_markdown

LOG = logging.getLogger("gaia_explorer")
T = TypeVar("T")
# Out of memory is the user's to fix too (a smaller batch size or a smaller model).
USER_ERRORS = (GaiaError, torch.OutOfMemoryError)


def show_user_error(what: str, err: BaseException) -> None:
    """``err`` as a message under the heading ``what`` (both plain text: they name user files)."""
    LOG.info("%s: %s", what, one_line(err))
    st.error(f"**{escape_markdown(what)}:** {escape_markdown(one_line(err))}", icon=":material/error:")


def guarded(
    where: str, fn: Callable[..., T], *args: Any, still_works: str = "the rest still works", **kwargs
) -> T | None:
    """``fn(*args, **kwargs)``, or None after showing why it failed: a user error as its message, a
    bug (any other exception) logged with its traceback and told as unexpected.

    Args:
        where: what ran (a page's title, a sidebar section), named in the message.
        still_works: what the user can still rely on after a bug, told after the error.
    """
    try:
        return fn(*args, **kwargs)
    except USER_ERRORS as err:
        show_user_error(where, err)
    except Exception as err:
        LOG.exception("%s failed", where)
        st.error(
            f"**Unexpected error: {escape_markdown(where)}** ({type(err).__name__}: "
            f"{escape_markdown(one_line(err))}). The details are in the server log; {still_works}.",
            icon=":material/bug_report:",
        )
    return None


def run_page(page: Any) -> None:
    """Run a page under `guarded`: an error it raises is told in the page, the others still work."""
    guarded(page.title, page.run, still_works="other pages still work")


def attempt(what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
    """``fn(*args, **kwargs)``, or None after showing a user error as a message."""
    try:
        return fn(*args, **kwargs)
    except USER_ERRORS as err:
        show_user_error(what, err)
        return None
