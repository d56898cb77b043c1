import threading
import time

import pytest

from mcpkit_runtime.jobs import JobHandle, JobLimitReached, JobState, JobStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _wait(job, timeout: float = 5.0) -> None:
    assert job.done.wait(timeout), f"job still {job.state}"


def test_a_job_reports_progress_and_keeps_its_result() -> None:
    store = JobStore()
    gate = threading.Event()

    def work(handle: JobHandle) -> dict[str, int]:
        handle.progress(1, 4, "first quarter")
        gate.wait(5)
        handle.progress(4, 4, "all")
        return {"rows": 42}

    job = store.start("profile", work)
    deadline = time.monotonic() + 5
    while job.progress == 0.0 and time.monotonic() < deadline:
        time.sleep(0.001)
    assert store.get(job.id).status().progress == 0.25 and job.state is JobState.RUNNING
    gate.set()
    _wait(job)
    assert job.state is JobState.SUCCEEDED and job.result == {"rows": 42} and job.progress == 1.0


def test_cancellation_stops_the_work_at_its_next_progress_report() -> None:
    store = JobStore()
    started = threading.Event()
    steps = []

    def work(handle: JobHandle) -> None:
        for step in range(1000):
            started.set()
            handle.progress(step, 1000)
            steps.append(step)
            threading.Event().wait(0.01)

    job = store.start("slow", work)
    started.wait(5)
    store.cancel(job.id)
    _wait(job)
    assert job.state is JobState.CANCELLED and len(steps) < 1000


def test_a_failing_job_is_failed_with_its_message() -> None:
    store = JobStore()
    job = store.start("broken", lambda handle: 1 / 0)
    _wait(job)
    assert job.state is JobState.FAILED and job.error == "division by zero"


def test_concurrency_is_capped_and_queued_jobs_can_be_cancelled() -> None:
    store = JobStore(concurrency=1)
    release = threading.Event()
    first = store.start("a", lambda handle: release.wait(5))
    second = store.start("b", lambda handle: "ran")
    assert second.state is JobState.QUEUED
    store.cancel(second.id)
    assert second.state is JobState.CANCELLED
    release.set()
    _wait(first)
    assert first.state is JobState.SUCCEEDED and second.result is None


def test_finished_jobs_expire_after_their_time_to_live() -> None:
    clock = Clock()
    store = JobStore(ttl_seconds=60, clock=clock)
    job = store.start("quick", lambda handle: "ok")
    _wait(job)
    clock.now += 59
    assert store.get(job.id) is not None
    clock.now += 2
    assert store.get(job.id) is None


def test_the_store_refuses_work_past_its_limit() -> None:
    store = JobStore(concurrency=1, max_jobs=2)
    release = threading.Event()
    store.start("a", lambda handle: release.wait(5))
    store.start("b", lambda handle: None)
    with pytest.raises(JobLimitReached, match="limit 2"):
        store.start("c", lambda handle: None)
    release.set()
    store.shutdown()
