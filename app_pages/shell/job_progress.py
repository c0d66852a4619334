"""Following background jobs: one runner per server, and a page's view of a job (its progress,
polled without blocking the page, its error with a retry button, or its result)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from gaia_core.app_support.jobs import Job, JobRunner
from gaia_core.safety.markdown import escape_markdown


@st.cache_resource
def job_runner() -> JobRunner:
    """One runner per server: a job runs once per key, whoever asks for it."""
    return JobRunner(keep_finished=16)


@st.fragment(run_every=0.5)
def _progress(key: Any) -> None:
    job = job_runner().get(key)
    if job is None or job.finished:
        st.rerun(scope="app")
    label = escape_markdown(job.label)  # it names the user's sets
    text = f"{label}: {job.done} of {job.total} images" if job.total else f"{label}: preparing…"
    st.progress(job.fraction, text=text)


def follow(job: Job | None, retry_key: str, resubmit: Callable[[], Any] | None = None) -> Any | None:
    """A job's result when it is done; otherwise its progress (polled without blocking the page)
    or its error with a retry button (calling ``resubmit``). None until the result is there."""
    if job is None:
        return None
    if job.ok:
        return job.result
    if job.finished:
        st.error(f"**{escape_markdown(job.label)} failed:** {escape_markdown(job.error)}", icon=":material/error:")
        if resubmit is not None and st.button("Try again", key=retry_key) and resubmit() is not None:
            st.rerun()
        return None
    _progress(job.key)
    return None
