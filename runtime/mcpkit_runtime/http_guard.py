"""What stands between a network peer and the MCP app: the bearer token, and deadlines for a request's headers
and body (uvicorn has neither: a peer that sends its request a byte at a time holds a connection for ever)."""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import Callable
from typing import Any

import anyio
import anyio.lowlevel
import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

Scope = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]
HEADER_SECONDS = 10.0  # from a connection's opening (or its previous answer) to a request's complete headers
BODY_SECONDS = 30.0  # from a request's headers to its complete body


class BearerToken:
    """ASGI middleware: every request but GET /health must carry `Authorization: Bearer TOKEN`, one of `tokens`."""

    def __init__(self, app: Any, tokens: list[str]) -> None:
        self.app = app
        self.tokens = [t.encode() for t in tokens]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path") != "/health":
            headers = dict(scope.get("headers") or [])
            given = headers.get(b"authorization", b"")
            # Every token compared, so the time taken does not say which one came close.
            matches = [hmac.compare_digest(given[7:], t) for t in self.tokens]
            if not (given.startswith(b"Bearer ") and any(matches)):
                body = json.dumps(
                    {"error": "a bearer token is required: Authorization: Bearer TOKEN"}
                ).encode()
                await send({"type": "http.response.start", "status": 401, "headers": [
                    (b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]})  # fmt: skip
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


class BodyDeadline:
    """ASGI middleware: a request's body must have arrived `seconds` after its headers, or the answer is 408. A
    response stream held open afterwards (an SSE GET) is not limited: only the body is."""

    def __init__(self, app: Any, seconds: float = BODY_SECONDS) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = anyio.current_time() + self.seconds
        state = {"complete": False, "answered": False}
        cut = anyio.CancelScope()  # the app's handling of this request, ended when its body is late

        async def timed_receive() -> dict[str, Any]:
            if state["complete"]:
                return await receive()  # type: ignore[no-any-return]
            with anyio.move_on_after(max(0.0, deadline - anyio.current_time())):
                message: dict[str, Any] = await receive()
                if message["type"] != "http.request" or not message.get("more_body"):
                    state["complete"] = True
                return message
            if not state["answered"]:
                state["answered"] = True
                body = f"the request's body did not arrive within {self.seconds:g} s".encode()
                await send({"type": "http.response.start", "status": 408,
                            "headers": [(b"content-type", b"text/plain"), (b"connection", b"close")]})  # fmt: skip
                await send({"type": "http.response.body", "body": body})
            cut.cancel()
            await anyio.lowlevel.checkpoint()  # the cancellation lands here
            return {"type": "http.disconnect"}

        async def watched_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                state["answered"] = True
            await send(message)

        with cut:
            await self.app(scope, timed_receive, watched_send)


def header_deadline(seconds: float = HEADER_SECONDS) -> type[H11Protocol]:
    """uvicorn's h11 protocol, closing a connection whose request headers are not complete `seconds` after it
    opened or after its previous answer (seam: H11Protocol's connection_made, handle_events, on_response_complete;
    uvicorn arms only a keep-alive timer, which the first byte of a request disarms)."""

    class HeaderDeadline(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def handle_events(self) -> None:
            super().handle_events()
            if self.conn.their_state is not h11.IDLE and self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
            super().connection_lost(exc)

        def _arm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
            self._header_timer = self.loop.call_later(seconds, self._late)

        def _late(self) -> None:
            self._header_timer = None
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self.transport.close()

    return HeaderDeadline
