"""The app's shell. The error frame around the pages and the sidebar's sections: a user error is a
message where it happened, a bug is logged with its traceback and told as unexpected, and in both
cases the rest of the app goes on. Server set-up is an explicit call of app.py, not a side effect of
an import; a new session starts at the sidebar's defaults."""

import logging
import re
import subprocess
import sys
import threading

import pytest
import torch
from helpers.app import ROOT, new_app, shown, texts
from streamlit.testing.v1 import AppTest

from app_pages.shell.defaults import DEFAULTS
from gaia_core.device import SERVER_THREADS_ENV

MESSAGE = "the file is not a checkpoint; upload a .safetensors file"


def _script(exception: str) -> None:
    import streamlit as st

    from app_pages.shell.error_frame import run_page
    from gaia_core.errors import GaiaError

    class Page:
        title = "Test page"

        def run(self):
            st.write("before")
            if exception == "user":
                raise GaiaError("the file is not a checkpoint; upload a .safetensors file")
            if exception == "bug":
                raise ZeroDivisionError("division by zero")
            if exception == "name":
                raise GaiaError("folder '/data/![h](https://some.host/)x_*y*' refused")

    run_page(Page())
    st.write("after the page")


def _sidebar_script(exception: str) -> None:
    import streamlit as st

    from app_pages.shell.error_frame import guarded, run_page
    from gaia_core.errors import GaiaError

    def section():
        st.write("section start")
        if exception == "user":
            raise GaiaError("the checkpoint is empty")
        if exception == "bug":
            raise IndexError("pop from empty list")

    class Page:
        title = "Test page"

        def run(self):
            st.write("the page")

    with st.sidebar:
        guarded("Model", section)
        st.write("next section")
    run_page(Page())


def _app(script, exception: str) -> AppTest:
    return AppTest.from_function(script, kwargs={"exception": exception}, default_timeout=60)


def _tracebacks(caplog, kind) -> list:
    return [r for r in caplog.records if r.exc_info and r.exc_info[0] is kind]


def test_a_user_error_is_shown_in_the_page_with_its_message_and_the_app_goes_on(caplog):
    caplog.set_level(logging.INFO, logger="gaia_explorer")
    at = _app(_script, "user").run()
    assert not at.exception
    assert len(at.error) == 1 and MESSAGE in texts(at.error)
    assert [m.value for m in at.markdown] == ["before", "after the page"]  # what it drew stays; the rest runs
    assert not any(r.exc_info for r in caplog.records)  # a user error is no bug: no traceback


def test_a_bug_is_logged_with_its_traceback_and_told_in_the_page_as_unexpected(caplog):
    at = _app(_script, "bug").run()
    assert not at.exception
    assert len(at.error) == 1 and "ZeroDivisionError" in texts(at.error) and "division by zero" in texts(at.error)
    assert [m.value for m in at.markdown] == ["before", "after the page"]
    assert _tracebacks(caplog, ZeroDivisionError)


def test_a_page_without_errors_shows_no_message():
    at = _app(_script, "none").run()
    assert not at.error and [m.value for m in at.markdown] == ["before", "after the page"]


def test_a_name_inside_an_error_message_is_shown_literally_not_as_markdown():
    at = _app(_script, "name").run()
    (error,) = at.error
    assert not re.search(r"(?<!\\)\]\(", error.value)  # no image or link syntax left
    assert "/data/![h](https://some.host/)x_*y*" in shown(error.value)


@pytest.mark.parametrize("exception", ["user", "bug"])
def test_an_error_in_a_sidebar_section_is_told_in_the_sidebar_and_the_rest_still_runs(exception, caplog):
    at = _app(_sidebar_script, exception).run()
    assert not at.exception
    assert len(at.sidebar.error) == 1 and not at.main.error
    assert ("the checkpoint is empty" if exception == "user" else "IndexError") in texts(at.sidebar.error)
    assert texts(at.sidebar.markdown) == "section start\nnext section"
    assert texts(at.main.markdown) == "the page"
    assert bool(_tracebacks(caplog, IndexError)) == (exception == "bug")


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_importing_the_shell_and_widgets_leaves_torch_threads_alone():
    modules = sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts)
        for folder in ("shell", "widgets")
        for p in (ROOT / "app_pages" / folder).glob("*.py")
    )
    code = (
        "import importlib, torch\n"
        "torch.set_num_threads(3)\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "assert torch.get_num_threads() == 3, torch.get_num_threads()\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=300)


def _threads_seen_by_a_new_thread() -> int:
    """Torch's intra-op threads as a thread started now (a session's next script run) sees them."""
    seen = []
    worker = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
    worker.start()
    worker.join()
    return seen[0]


def test_the_app_sets_one_torch_thread_per_session_when_it_starts(monkeypatch, restore_threads):
    monkeypatch.delenv(SERVER_THREADS_ENV, raising=False)
    torch.set_num_threads(2)
    assert _threads_seen_by_a_new_thread() == 2
    at = new_app()
    assert not at.exception and _threads_seen_by_a_new_thread() == 1


def test_a_bad_thread_setting_is_told_and_every_page_still_runs(monkeypatch, restore_threads):
    monkeypatch.setenv(SERVER_THREADS_ENV, "many")
    at = new_app()
    assert not at.exception
    assert SERVER_THREADS_ENV in texts(at.error)
    assert at.title[0].value == "GAIA Explorer"


def test_a_new_session_starts_at_the_sidebar_defaults():
    at = new_app()
    assert at.number_input(key="batch_size").value == DEFAULTS.batch_size
    assert at.number_input(key="max_per_set").value == DEFAULTS.max_per_set
    assert at.text_input(key="data_root").value == DEFAULTS.data_root
