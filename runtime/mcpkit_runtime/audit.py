"""The audit trail: one JSON line per tool call and resource read, on stderr (never stdout: that is the
protocol), and optionally appended to a file on a mounted volume; with the trace it belongs to, when the caller
sent one (mcpkit_runtime.tracecontext). `timed` writes a call's line, for the runtime's server and its gateway
alike: what was asked, what came of it, how long it took.

A server on stdio holds its stderr lines until it has written its next message (`StderrLines.held`), the answer
they belong to when calls come one at a time: in a container, stderr reaches the client by the same relay as the
answer (containerd's shim, the engine, the docker client), and a line sent first makes the answer wait behind it
(measured: 0.7 ms a call on a loaded machine)."""

from __future__ import annotations

import atexit
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from mcpkit_runtime.tracecontext import current_trace

_REPORTED: ContextVar[dict[str, Any] | None] = ContextVar("mcpkit_audit_fields", default=None)


class AuditLog:
    def __init__(
        self, server: str, version: str, file: Path | None = None, stream: TextIO | None = None
    ) -> None:
        self.server = server
        self.version = version
        self._stream = stream
        self._lock = threading.Lock()
        self._file: TextIO | None = None
        if file is not None:
            file.parent.mkdir(parents=True, exist_ok=True)
            self._file = file.open("a", encoding="utf-8", buffering=1)

    def record(self, event: str, **fields: Any) -> dict[str, Any]:
        entry = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "level": "info",
            "logger": "audit",
            "event": event,
            "server": self.server,
            "server_version": self.version,
            **current_trace(),  # the caller's trace, when it sent one
            **fields,
        }
        line = json.dumps(entry, default=str) + "\n"
        with self._lock:
            if self._stream is None:
                stderr_lines.write(line)
            else:
                self._stream.write(line)
                self._stream.flush()
            if self._file is not None:
                self._file.write(line)
        return entry

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


class StderrLines:
    """Audit lines bound for stderr: written at once, or, while held, after the next answer is written (`release`),
    or a moment later if no answer comes first (a call cancelled without one): `soon` arranges that call."""

    LATEST_SECONDS = 0.05

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: list[str] | None = None
        self._soon: Callable[[], None] = lambda: None

    @contextmanager
    def held(self, soon: Callable[[], None]) -> Iterator[None]:
        """Hold lines while the block runs (a stdio server serving); what is still held at its end, or at the
        process's exit, is written then."""
        with self._lock:
            self._held, self._soon = [], soon
        atexit.register(self.release)
        try:
            yield
        finally:
            atexit.unregister(self.release)
            with self._lock:
                self._write_held()
                self._held, self._soon = None, lambda: None

    def write(self, line: str) -> None:
        with self._lock:
            if self._held is None:
                sys.stderr.write(line)
                sys.stderr.flush()
                return
            self._held.append(line)
            if len(self._held) > 1:
                return
        self._soon()

    def release(self) -> None:
        with self._lock:
            self._write_held()

    def _write_held(self) -> None:
        if self._held:
            sys.stderr.write("".join(self._held))
            sys.stderr.flush()
            self._held.clear()


stderr_lines = StderrLines()


def audit_fields(**fields: Any) -> None:
    """Facts about the call in progress (rows returned, columns masked) for its audit line: one line per call says
    what was asked and what came of it. The tool may run in a worker thread; the call's context reaches it there."""
    current = _REPORTED.get()
    if current is not None:
        current.update(fields)


@dataclass
class Call:
    """A call's audit line in the making: an error until the host says otherwise."""

    fields: dict[str, Any]
    outcome: str = "error"
    ran: bool = True
    seconds: float = 0.0  # how long it ran, once the block is over

    def refuse(self, outcome: str, **facts: Any) -> None:
        """Refused before it ran: its duration is 0."""
        self.outcome, self.ran = outcome, False
        self.fields.update(facts)


@contextmanager
def timed(audit: AuditLog, event: str, **fields: Any) -> Iterator[Call]:
    """Times the call run in the block and writes its one line, whatever happens: `fields`, what the host sets on
    the yielded Call, then what the code it calls added with audit_fields (never overriding the host's facts)."""
    call = Call(dict(fields))
    reported: dict[str, Any] = {}
    token = _REPORTED.set(reported)
    started = time.perf_counter()
    try:
        yield call
    finally:
        _REPORTED.reset(token)
        reported.pop("event", None)  # a tool's fact cannot be taken for the line's kind
        call.seconds = time.perf_counter() - started if call.ran else 0.0
        duration = round(call.seconds * 1000, 3)
        audit.record(event, **{**reported, **call.fields, "outcome": call.outcome, "duration_ms": duration})
