"""The client-side bound of a call: at its deadline, the statement running on the connection is cancelled, whatever
the database's own settings say or whatever ran before on the connection.

One thread watches every call's deadline, started with the first call, so a call that ends in time costs no thread.
A cancel runs in a thread of its own: a slow one (PostgreSQL's goes over the network) delays no other call's.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
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
        _WATCHER.watch(self, time.monotonic() + self._seconds)
        return self

    def __exit__(self, *_: object) -> None:
        with self._sending:
            self._stopped.set()

    def _fire(self) -> bool:
        """Cancel now unless stopped; whether to be called again."""
        with self._sending:
            if self._stopped.is_set():
                return False
            self.fired = True
            self._cancel()
            return True


class _Watcher:
    def __init__(self) -> None:
        self._due: list[tuple[float, int, Watchdog]] = []
        self._order = itertools.count()  # ties never compare two watchdogs
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def watch(self, watchdog: Watchdog, deadline: float) -> None:
        with self._changed:
            heapq.heappush(self._due, (deadline, next(self._order), watchdog))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="analyst-watchdog", daemon=True)
                self._thread.start()
            elif self._due[0][2] is watchdog:
                self._changed.notify()  # the new deadline is the nearest: wake up earlier than planned

    def _run(self) -> None:
        while True:
            with self._changed:
                while self._due and self._due[0][2]._stopped.is_set():
                    heapq.heappop(self._due)  # ended in time: dropped
                if not self._due:
                    self._changed.wait()
                    continue
                deadline, _, watchdog = self._due[0]
                wait = deadline - time.monotonic()
                if wait > 0:
                    self._changed.wait(wait)
                    continue
                heapq.heappop(self._due)
            threading.Thread(target=self._fire, args=(watchdog,), name="analyst-cancel", daemon=True).start()

    def _fire(self, watchdog: Watchdog) -> None:
        if watchdog._fire():
            self.watch(watchdog, time.monotonic() + REPEAT_SECONDS)


_WATCHER = _Watcher()
