"""Requests the gateway writes to a server's wire itself, as JSON lines, and whose answers it takes off the wire
before the SDK's client session sees them: the hot path of a tool call, without the session's model building,
dumping and validation, and without the two memory-stream hops between the transport and the session (the
session's write queue and its read loop). Everything else on the connection (the handshake, lists, prompts,
resources, a call that wants progress) still goes through the SDK's session, on the same wire.

The ids are strings under a prefix the SDK never mints (its own are integers), so an answer is never taken for
another's. A transport that offers a channel calls `take` with every line it reads from the server before parsing
it, and `close` when the server's output ends; it gives the channel the function that writes one line.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Awaitable, Callable
from itertools import count
from typing import Any

import anyio

PREFIX = "mcpkit-gw-"
_MARK = PREFIX.encode()
_CANCEL_WRITE_SECONDS = 2.0


class RawClosed(Exception):
    """The server's wire closed before it answered (the call may or may not have reached it)."""


class _Waiter:
    __slots__ = ("answer", "done")

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.answer: dict[str, Any] | None = None  # the response message, or None when the wire closed


class RawChannel:
    def __init__(self, send_line: Callable[[bytes], Awaitable[None]]) -> None:
        self._send_line = send_line
        self._ids = count(1)
        self.waiting: dict[str, _Waiter] = {}
        self.closed = False

    async def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """The server's response message to one request: its `result` or its `error`. Cancelled, it tells the
        server (notifications/cancelled, with the id the server saw) before it gives up. Raises RawClosed when the
        wire closes first."""
        if self.closed:
            raise RawClosed
        request_id = f"{PREFIX}{next(self._ids)}"
        waiter = self.waiting[request_id] = _Waiter()
        sent = False
        try:
            line = json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params},
                              separators=(",", ":"))  # fmt: skip
            sent = True  # a write interrupted by a cancellation may still have gone out whole
            await self._send_line(line.encode() + b"\n")
            await waiter.done.wait()
        except anyio.get_cancelled_exc_class():
            if sent and not waiter.done.is_set() and not self.closed:
                with anyio.CancelScope(shield=True), anyio.move_on_after(_CANCEL_WRITE_SECONDS):
                    await self._cancel(request_id)
            raise
        except (OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
            raise RawClosed from None
        finally:
            self.waiting.pop(request_id, None)
        if waiter.answer is None:
            raise RawClosed
        return waiter.answer

    async def _cancel(self, request_id: str) -> None:
        note = {"jsonrpc": "2.0", "method": "notifications/cancelled",
                "params": {"requestId": request_id, "reason": "caller cancelled"}}  # fmt: skip
        with contextlib.suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
            await self._send_line(json.dumps(note, separators=(",", ":")).encode() + b"\n")

    def take(self, line: bytes) -> bool:
        """True when `line` answers one of this channel's requests (its waiter now has it); False for anything
        else, which goes on to the SDK's session. Costs a byte search while no request waits."""
        if not self.waiting or _MARK not in line:
            return False
        try:
            message = json.loads(line)
        except ValueError:
            return False
        if not isinstance(message, dict) or "method" in message:
            return False
        request_id = message.get("id")
        waiter = self.waiting.get(request_id) if isinstance(request_id, str) else None
        if waiter is None or not ("result" in message or "error" in message):
            return False
        waiter.answer = message
        waiter.done.set()
        return True

    def close(self) -> None:
        """The wire has closed: every request still waiting ends with RawClosed."""
        self.closed = True
        for waiter in self.waiting.values():
            waiter.done.set()
