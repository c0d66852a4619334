"""The app frame: a user error is a message where it happened; a bug is logged and told as unexpected."""

from streamlit.testing.v1 import AppTest


def _script(exception: str) -> None:
    import streamlit as st

    from app_pages.frame import run_page
    from gaia_core.errors import GaiaError

    class Page:
        title = "Test page"

        def run(self):
            st.write("before")
            if exception == "user":
                raise GaiaError("the file is not a checkpoint; upload a .safetensors file")
            if exception == "bug":
                raise ZeroDivisionError("division by zero")

    run_page(Page())
    st.write("after the page")


def _page_app(exception: str) -> AppTest:
    return AppTest.from_function(_script, kwargs={"exception": exception}, default_timeout=60)


def test_a_user_error_is_shown_as_its_message_and_the_app_goes_on():
    at = _page_app("user").run()
    assert not at.exception
    assert [e.value for e in at.error] == ["**Test page:** the file is not a checkpoint; upload a .safetensors file"]
    assert at.error[0].icon == ":material/error:"
    assert [m.value for m in at.markdown] == ["before", "after the page"]


def test_a_bug_is_logged_with_its_traceback_and_told_as_unexpected(caplog):
    at = _page_app("bug").run()
    assert not at.exception
    assert len(at.error) == 1 and at.error[0].value.startswith("**Unexpected error on this page** (ZeroDivisionError")
    assert at.error[0].icon == ":material/bug_report:"
    assert any(r.exc_info and r.exc_info[0] is ZeroDivisionError for r in caplog.records)


def test_a_page_without_errors_shows_no_message():
    at = _page_app("none").run()
    assert not at.error and [m.value for m in at.markdown] == ["before", "after the page"]
