"""The audit trail: one JSON line per tool call and resource read, on stderr (never stdout: that is the
protocol), and optionally appended to a file on a mounted volume. `timed` writes a call's line, for the runtime's
server and its gateway alike: what was asked, what came of it, how long it took."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

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
            **fields,
        }
        line = json.dumps(entry, default=str)
        with self._lock:
            stream = self._stream or sys.stderr
            stream.write(line + "\n")
            stream.flush()
            if self._file is not None:
                self._file.write(line + "\n")
        return entry

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


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
        duration = round((time.perf_counter() - started) * 1000, 3) if call.ran else 0.0
        audit.record(event, **{**reported, **call.fields, "outcome": call.outcome, "duration_ms": duration})
