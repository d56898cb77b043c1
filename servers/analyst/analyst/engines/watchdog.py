"""The client-side bound of a call: at its deadline, the statement running on the connection is cancelled, whatever
the database's own settings say or whatever ran before on the connection."""

from __future__ import annotations

import threading
from collections.abc import Callable

REPEAT_SECONDS = (
    0.5  # a cancel that lands between two statements is a no-op: it is sent again until the call ends
)


class Watchdog:
    """Calls `cancel` once `seconds` have passed, then every REPEAT_SECONDS, until stopped. Use as a context manager
    around the call; stopping waits for a cancel in flight, so none reaches the connection's next call."""

    def __init__(self, cancel: Callable[[], None], seconds: float) -> None:
        self._cancel = cancel
        self._seconds = seconds
        self._stopped = threading.Event()
        self._sending = threading.Lock()
        self.fired = False

    def __enter__(self) -> Watchdog:
        threading.Thread(target=self._watch, name="analyst-watchdog", daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        with self._sending:
            self._stopped.set()

    def _watch(self) -> None:
        wait = self._seconds
        while not self._stopped.wait(wait):
            with self._sending:
                if self._stopped.is_set():
                    return
                self.fired = True
                self._cancel()
            wait = REPEAT_SECONDS
