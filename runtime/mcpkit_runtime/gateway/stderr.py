"""The last lines a server wrote to stderr: where a server that cannot start says why (a missing setting, an image
that is not there).

An unnamed file opened for appending, not a pipe: nothing in the gateway reads every line a busy server logs (a
reader thread cost each call about 3 ms), the tail is read only when a server fails, and the file is emptied when
it grows past a bound (appends land at the new end).
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import time
from typing import TextIO

TAIL_BYTES = 4096  # read from the end when a reason is wanted
MAX_BYTES = 1024 * 1024  # past this the file is emptied
REASON_LINES = 3
LINE_CHARS = 300


class StderrTail:
    def __init__(self) -> None:
        fd, path = tempfile.mkstemp(prefix="mcpkit-gateway-stderr-")
        os.unlink(path)  # unnamed: gone with the last descriptor
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_APPEND)
        self.stream: TextIO = os.fdopen(fd, "a")  # the servers' stderr, for the gateway's life

    @property
    def mark(self) -> int:
        """Where the file ends now: since(mark) gives what was written after it."""
        return os.fstat(self.stream.fileno()).st_size

    def since(self, mark: int) -> list[str]:
        fd = self.stream.fileno()
        size = os.fstat(fd).st_size
        start = mark if mark <= size else 0  # emptied since
        cut = size - start > TAIL_BYTES
        start = max(start, size - TAIL_BYTES)
        lines = os.pread(fd, size - start, start).decode(errors="replace").splitlines()
        return [line.strip()[:LINE_CHARS] for line in lines[1 if cut else 0 :] if line.strip()]

    def reason(self, mark: int, wait: float = 0.3) -> str | None:
        """The last lines written since `mark`, waiting up to `wait` seconds for a server that just exited (the
        docker client may pass its container's last lines on after its own output has closed)."""
        deadline = time.monotonic() + wait
        while not self.since(mark) and time.monotonic() < deadline:
            time.sleep(0.02)
        lines = self.since(mark)
        return " | ".join(lines[-REASON_LINES:]) if lines else None

    def trim(self) -> None:
        """Empty the file when it has grown past its bound (a server's audit lines accumulate here)."""
        fd = self.stream.fileno()
        if os.fstat(fd).st_size > MAX_BYTES:
            os.ftruncate(fd, 0)

    def close(self) -> None:
        self.stream.close()
