"""The last lines a server wrote to stderr: where a server that cannot start says why (a missing setting, an image
that is not there). A pipe drained by a thread, so a server that logs a lot is never blocked on it."""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from typing import TextIO

LINES = 40  # kept per server
REASON_LINES = 3  # of them in an error message
LINE_CHARS = 300


class StderrTail:
    def __init__(self, lines: int = LINES) -> None:
        read_fd, write_fd = os.pipe()
        self.stream: TextIO = os.fdopen(write_fd, "w")  # the servers' stderr, for the gateway's life
        self._lines: deque[tuple[int, str]] = deque(maxlen=lines)
        self._count = 0
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._drain, args=(read_fd,), daemon=True, name="stderr-tail")
        self._reader.start()

    def _drain(self, read_fd: int) -> None:
        with os.fdopen(read_fd, "r", errors="replace") as pipe:
            for line in pipe:
                text = line.rstrip()
                if text:
                    with self._lock:
                        self._count += 1
                        self._lines.append((self._count, text[:LINE_CHARS]))

    @property
    def mark(self) -> int:
        """The count of lines so far: since(mark) gives the lines written after it."""
        with self._lock:
            return self._count

    def since(self, mark: int) -> list[str]:
        with self._lock:
            return [text for count, text in self._lines if count > mark]

    def reason(self, mark: int, wait: float = 0.3) -> str | None:
        """The last lines written since `mark`, waiting up to `wait` seconds for the reader to catch up with a
        server that just exited (its lines are in the pipe, not yet read)."""
        deadline = time.monotonic() + wait
        while not self.since(mark) and time.monotonic() < deadline:
            time.sleep(0.02)
        lines = self.since(mark)
        return " | ".join(lines[-REASON_LINES:]) if lines else None

    def close(self) -> None:
        self.stream.close()  # the reader ends once every server holding the pipe has exited
