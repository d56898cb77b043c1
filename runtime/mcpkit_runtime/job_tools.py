"""The job store as MCP tools: job_status, job_wait (progress notifications while it waits), job_result,
cancel_job."""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from mcpkit_runtime.jobs import Job, JobStatus, JobStore


class JobResult(BaseModel):
    job_id: str
    tool: str
    result: Any


JobId = Annotated[str, Field(description="The job_id a tool returned when it started the job.")]


def register_job_tools(mcp: MCPServer, store: JobStore) -> None:
    def lookup(job_id: str) -> Job:
        job = store.get(job_id.strip())
        if job is None:
            raise ToolError(f"no job {job_id!r}: it never existed or expired; start the work again")
        return job

    @mcp.tool()
    def job_status(job_id: JobId) -> JobStatus:
        """State and progress of a long-running job."""
        return lookup(job_id).status()

    @mcp.tool()
    async def job_wait(
        job_id: JobId,
        timeout_seconds: Annotated[
            float, Field(ge=0, le=300, description="Longest wait, in seconds.")
        ] = 30.0,
        ctx: Context | None = None,
    ) -> JobStatus:
        """Wait for a job to finish (or the timeout), sending progress notifications meanwhile."""
        job = lookup(job_id)
        reported = -1.0
        with anyio.move_on_after(timeout_seconds):
            while not job.state.finished:
                if ctx is not None and job.progress != reported:
                    reported = job.progress
                    await ctx.report_progress(job.progress, 1.0, job.message)
                await anyio.sleep(0.1)
        if ctx is not None and job.state.finished:
            await ctx.report_progress(1.0, 1.0, f"{job.tool} {job.state.value}")
        return job.status()

    @mcp.tool()
    def job_result(job_id: JobId) -> JobResult:
        """The result of a finished job."""
        job = lookup(job_id)
        if not job.state.finished:
            raise ToolError(
                f"job {job.id} is {job.state.value} ({job.progress:.0%}); call job_wait or job_status first"
            )
        if job.error is not None or job.result is None:
            raise ToolError(f"job {job.id} {job.state.value}: {job.error or 'no result'}")
        return JobResult(job_id=job.id, tool=job.tool, result=job.result)

    @mcp.tool()
    def cancel_job(job_id: JobId) -> JobStatus:
        """Stop a running or queued job."""
        job = store.cancel(job_id.strip())
        if job is None:
            raise ToolError(f"no job {job_id!r}")
        return job.status()
