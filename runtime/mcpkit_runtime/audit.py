"""The audit trail: one JSON line per tool call and resource read, on stderr (never stdout: that is the
protocol), and optionally appended to a file on a mounted volume; with the trace it belongs to, when the caller
sent one (mcpkit_runtime.tracecontext)."""

from __future__ import annotations

import json
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from mcpkit_runtime.tracecontext import current_trace


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
