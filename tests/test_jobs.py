import threading

from gaia_core.app_support.jobs import JobRunner


def test_same_key_while_running_returns_the_same_job_and_runs_once():
    runner, release, calls = JobRunner(), threading.Event(), []

    def work(progress):
        calls.append(1)
        progress(1, 2)
        release.wait(5)
        return "result"

    first = runner.submit("k", work)
    second = runner.submit("k", work)
    release.set()
    assert first is second and first.wait(5)
    assert first.result == "result" and first.ok and calls == [1]
    assert runner.submit("k", work) is first  # finished and fine: reused


def test_failed_job_reports_a_message_and_can_be_retried():
    runner = JobRunner()
    failed = runner.submit("k", lambda progress: 1 / 0)
    failed.wait(5)
    assert failed.finished and not failed.ok and "division by zero" in failed.error
    retried = runner.submit("k", lambda progress: 42)
    retried.wait(5)
    assert retried is not failed and retried.result == 42


def test_progress_is_visible_while_running():
    runner, gate, seen = JobRunner(), threading.Event(), threading.Event()

    def work(progress):
        progress(3, 10)
        seen.set()
        gate.wait(5)

    job = runner.submit("k", work)
    seen.wait(5)
    assert (job.done, job.total, job.fraction) == (3, 10, 0.3) and not job.finished
    gate.set()
    job.wait(5)


def test_finished_jobs_are_bounded():
    runner = JobRunner(keep_finished=2)
    for i in range(5):
        runner.submit(i, lambda progress, i=i: i).wait(5)
    runner.submit("last", lambda progress: 0).wait(5)
    kept = [k for k in range(5) if runner.get(k) is not None]
    assert kept == [3, 4] and runner.get("last") is not None  # the newest two, and the one just run
