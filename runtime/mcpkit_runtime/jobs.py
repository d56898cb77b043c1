"""Long-running jobs: a tool starts work and returns a job id at once; the work runs in a worker thread with
progress and cooperative cancellation; state outlives the client's connection (it lives as long as the container).

The store knows nothing of MCP. `register_job_tools` exposes it as tools today; the protocol's native tasks
(a 2026-07-28 extension the SDK does not implement yet) can be served from the same store later without changing
the tools that start jobs.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


class JobCancelled(Exception):
    """Raised inside a job's work by `JobHandle.progress` once cancellation was asked for."""


class JobLimitReached(Exception):
    pass


class JobStatus(BaseModel):
    job_id: str
    tool: str
    state: JobState
    progress: float  # 0.0 to 1.0
    message: str
    started_at: float | None
    finished_at: float | None
    error: str | None = None


@dataclass
class Job:
    id: str
    tool: str
    created: float
    state: JobState = JobState.QUEUED
    progress: float = 0.0
    message: str = "queued"
    started: float | None = None
    finished: float | None = None
    result: Any = None
    error: str | None = None
    cancel_requested: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)

    def status(self) -> JobStatus:
        return JobStatus(
            job_id=self.id, tool=self.tool, state=self.state, progress=round(self.progress, 4), message=self.message,
            started_at=self.started, finished_at=self.finished, error=self.error,
        )  # fmt: skip


class JobHandle:
    """What the work sees: report progress (which is also where cancellation takes effect)."""

    def __init__(self, job: Job) -> None:
        self._job = job

    def progress(self, done: float, total: float, message: str = "") -> None:
        if self._job.cancel_requested.is_set():
            raise JobCancelled
        self._job.progress = max(0.0, min(1.0, done / total if total else 0.0))
        self._job.message = message or self._job.message

    @property
    def cancelled(self) -> bool:
        return self._job.cancel_requested.is_set()


class JobStore:
    def __init__(
        self,
        concurrency: int = 2,
        ttl_seconds: float = 3600.0,
        max_jobs: int = 100,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="mcp-job")
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self.ttl_seconds = ttl_seconds
        self.max_jobs = max_jobs
        self.clock = clock

    def start(self, tool: str, work: Callable[[JobHandle], Any]) -> Job:
        with self._lock:
            self._expire()
            active = sum(not job.state.finished for job in self._jobs.values())
            if len(self._jobs) >= self.max_jobs or active >= self.max_jobs:
                raise JobLimitReached(
                    f"{active} jobs are running or queued and {len(self._jobs)} kept (limit {self.max_jobs}); "
                    "wait for one to finish or cancel one"
                )
            job = Job(id=uuid.uuid4().hex[:16], tool=tool, created=self.clock())
            self._jobs[job.id] = job
        self._executor.submit(self._run, job, work)
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            self._expire()
            return self._jobs.get(job_id)

    def cancel(self, job_id: str) -> Job | None:
        job = self.get(job_id)
        if job is not None and not job.state.finished:
            job.cancel_requested.set()
            job.message = "cancelling"
            if job.state is JobState.QUEUED:
                self._finish(job, JobState.CANCELLED, "cancelled before it started")
        return job

    def _run(self, job: Job, work: Callable[[JobHandle], Any]) -> None:
        if job.cancel_requested.is_set():
            return
        job.state, job.started, job.message = JobState.RUNNING, self.clock(), "running"
        try:
            result = work(JobHandle(job))
        except JobCancelled:
            self._finish(job, JobState.CANCELLED, "cancelled")
        except Exception as exc:  # the job's failure is its result; the server carries on
            job.error = str(exc) or type(exc).__name__
            self._finish(job, JobState.FAILED, "failed")
        else:
            job.result, job.progress = result, 1.0
            self._finish(job, JobState.SUCCEEDED, "done")

    def _finish(self, job: Job, state: JobState, message: str) -> None:
        job.state, job.message, job.finished = state, message, self.clock()
        job.done.set()

    def _expire(self) -> None:
        """Forget finished jobs older than the time to live (called with the lock held)."""
        now = self.clock()
        for job_id in [
            i
            for i, j in self._jobs.items()
            if j.state.finished and now - (j.finished or now) > self.ttl_seconds
        ]:
            del self._jobs[job_id]

    def shutdown(self) -> None:
        for job in list(self._jobs.values()):
            job.cancel_requested.set()
        self._executor.shutdown(wait=False, cancel_futures=True)
