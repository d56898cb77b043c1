"""The gateway's HTTP front: the SDK's streamable-HTTP app, with the hot request answered by the gateway itself. A
POST carrying one `tools/call` for a live handshake-era session is read, passed through the gateway's walls
(Gateway.tool_call, as the stdio front does: gateway.front) and answered as the SDK's single-exchange transport
answers (one JSON body, or one SSE event for a call that runs long: see _answer), without the SDK's per-request
transport and server session:
no memory streams, no event-stream response and its tasks, no dispatcher, no request or result model. Measured paired
(bench/gateway_bench.py), that was most of what HTTP added to a call over stdio.

It sits inside the middleware stack (http.app): the bearer token and the deadlines for headers and body hold as
before; the Host and Origin checks and the body size limit are the SDK's own, applied here with its settings before
anything is answered. Everything else goes to the SDK unchanged, and so does anything this front cannot answer
exactly as the SDK would: another method, a batch, a request without a live session whose handshake is done, a
protocol version header other than a handshake era's (the stateless era: the SDK answers it per request), a request
the SDK would refuse (its answer is the refusal), a body over the limit or not yet complete, and every call that
gateway.front.direct_call does not take (progress asked, a name not offered, a server not running on its own wire,
traces on). A `notifications/cancelled` for a call answered here cancels it and the server is told; the call is
answered "Request cancelled" as the SDK's transport answers on this era. A client that disconnects cancels its call.
"""

from __future__ import annotations

from mcpkit_runtime import sdk as _sdk  # noqa: F401 - first: the SDK loads through the seam (sdk.py)

# isort: split
import json
import math
import weakref
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER, REQUEST_CANCELLED, check_accept_headers
from mcp.server.transport_security import TransportSecurityMiddleware
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.datastructures import Headers
from starlette.requests import Request

from mcpkit_runtime import sdk
from mcpkit_runtime.gateway.front import DirectCall, answer, cancelled_id, direct_call, json_object

if TYPE_CHECKING:
    from mcp.server.lowlevel import Server

    from mcpkit_runtime.gateway.proxy import Gateway

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

PING_SECONDS = 15.0  # a call still running is kept alive on its event stream, as the SDK's stream pings
_COMPACT = (",", ":")
_SSE_HEADERS = [(b"cache-control", b"no-cache, no-transform"), (b"connection", b"keep-alive"),
                (b"content-type", b"text/event-stream"), (b"x-accel-buffering", b"no")]  # fmt: skip


class DirectHttp:
    """ASGI: `app` (the SDK's streamable-HTTP app at `path`), less the calls answered here."""

    def __init__(self, app: Any, server: Server[Any], gateway: Gateway, path: str = "/mcp") -> None:
        self.app = app
        self._server = server
        self._gateway = gateway
        self._path = path
        manager = server.session_manager
        self._manager = manager
        self._security = TransportSecurityMiddleware(manager.security_settings)
        # Each session's connection once its handshake is done, as the SDK's server saw it go by.
        self._sessions: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()
        self._in_flight: dict[tuple[str, Any], anyio.CancelScope] = {}
        self.answered = 0  # calls answered here
        server.middleware.append(self._watch_handshake)

    async def _watch_handshake(self, ctx: Any, call_next: Any) -> Any:
        result = await call_next(ctx)
        if ctx.method == "notifications/initialized":
            connection = sdk.connection_of(ctx.session)
            session_id = getattr(connection, "session_id", None)
            if isinstance(session_id, str):
                self._sessions[session_id] = connection
        return result

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != self._path:
            await self.app(scope, receive, send)
            return
        opened = await self._session(scope)
        if opened is None:
            await self.app(scope, receive, send)
            return
        session_id, transport, version = opened
        body, read = await _body(receive, self._manager.max_request_body_size)
        message = json_object(body) if body is not None else None
        if message is not None:
            cancelled = cancelled_id(message)
            if cancelled is not None and (session_id, cancelled) in self._in_flight:
                self._in_flight[session_id, cancelled].cancel()
                await _respond(send, 202, b"", [(b"content-type", b"application/json")], session_id)
                return
            call = direct_call(self._gateway, message, session_id)
            if call is not None and (session_id, call.request_id) not in self._in_flight:
                with sdk.http_request_in_flight(transport):
                    await self._answer(
                        call, session_id, version, transport.is_json_response_enabled, receive, send
                    )
                return
        await self.app(scope, _replaying(read, receive), send)

    async def _session(self, scope: Message) -> tuple[str, Any, str] | None:
        """The session, its transport and its protocol version, when the SDK's transport would take this POST as
        a request of that session (every check it makes before it reads the body); else None."""
        headers = Headers(scope=scope)
        if self._manager.stateless or scope.get("user") is not None:
            return None  # a session bound to a credential: the SDK checks it
        if headers.get("mcp-protocol-version") not in HANDSHAKE_PROTOCOL_VERSIONS:
            return None
        session_id = headers.get(MCP_SESSION_ID_HEADER)
        transport = sdk.live_http_session(self._server, session_id)
        connection = self._sessions.get(session_id) if session_id else None
        if transport is None or connection is None or session_id is None:
            return None
        version = connection.protocol_version
        if not connection.initialized.is_set() or version not in HANDSHAKE_PROTOCOL_VERSIONS:
            return None
        request = Request(scope)
        if await self._security.validate_request(request, is_post=True) is not None:
            return None  # the SDK refuses it (Host, Origin, Content-Type)
        media = headers.get("content-type", "").split(";")[0].split(",")
        if not any(part.strip() == "application/json" for part in media):
            return None
        has_json, has_sse = check_accept_headers(request)
        if not has_json or not (has_sse or transport.is_json_response_enabled):
            return None
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self._manager.max_request_body_size):
            return None
        return session_id, transport, version

    async def _answer(
        self, call: DirectCall, session_id: str, version: str, json_mode: bool, receive: Receive, send: Send
    ) -> None:
        """The call made while the client is watched: gone, the call is cancelled (and nothing is answered). Answered
        within PING_SECONDS, the answer is one JSON body; still running then (and the transport streams), an event
        stream is opened and kept alive, and the answer is its one event. So does the SDK's own single-exchange
        transport (mcp.server._streamable_http_modern); the handshake-era transport always streams, which the SDK's
        client ends by closing the connection as soon as it has the answer (StreamableHTTPTransport.
        _handle_sse_response): a new TCP connection for every call. A JSON body is read to its end, and the
        connection kept for the next call. Clients must take either (the protocol's streamable HTTP, "Sending
        Messages to the Server")."""
        key = (session_id, call.request_id)
        cancel = self._in_flight[key] = anyio.CancelScope()
        state = {"gone": False, "streaming": False}

        async def watch() -> None:
            while True:
                with anyio.move_on_after(math.inf if json_mode else PING_SECONDS):
                    if (await receive())["type"] == "http.disconnect":
                        state["gone"] = True
                        cancel.cancel()
                        return
                    continue
                if not state["streaming"]:
                    state["streaming"] = True
                    await send({"type": "http.response.start", "status": 200, "headers": _sse(session_id)})
                await send({"type": "http.response.body", "body": b": ping\r\n\r\n", "more_body": True})

        response: dict[str, Any] = {"jsonrpc": "2.0", "id": call.request_id,
                                    "error": {"code": REQUEST_CANCELLED, "message": "Request cancelled"}}  # fmt: skip
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(watch)
                with cancel:
                    response = await answer(self._gateway, call, version, session_id)
                group.cancel_scope.cancel()
        finally:
            self._in_flight.pop(key, None)
        if state["gone"]:
            return
        data = json.dumps(response, separators=_COMPACT, ensure_ascii=False).encode()
        self.answered += 1  # counted before the answer is out: a client may look the moment it has it
        if not state["streaming"]:
            await _respond(send, 200, data, [(b"content-type", b"application/json")], session_id)
        else:
            await send(
                {"type": "http.response.body", "body": b"event: message\r\ndata: " + data + b"\r\n\r\n"}
            )


def _sse(session_id: str) -> list[tuple[bytes, bytes]]:
    return [*_SSE_HEADERS, (MCP_SESSION_ID_HEADER.encode(), session_id.encode())]


async def _respond(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]], session_id: str
) -> None:
    headers = [(b"content-length", str(len(body)).encode()), *headers,
               (MCP_SESSION_ID_HEADER.encode(), session_id.encode())]  # fmt: skip
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _body(receive: Receive, limit: int) -> tuple[bytes | None, list[Message]]:
    """The request's whole body, and the messages it came in; None for the body when it is over `limit` or did
    not come whole (the SDK answers, from the messages replayed)."""
    read: list[Message] = []
    size = 0
    while True:
        message = await receive()
        read.append(message)
        if message["type"] != "http.request":
            return None, read
        size += len(message.get("body", b""))
        if size > limit:
            return None, read
        if not message.get("more_body"):
            body = read[0].get("body", b"") if len(read) == 1 else b"".join(m.get("body", b"") for m in read)
            return body, read


def _replaying(read: list[Message], receive: Receive) -> Receive:
    pending = deque(read)

    async def replay() -> Message:
        return pending.popleft() if pending else await receive()

    return replay
