"""The gateway's stdio front: the runtime's guarded stdio (mcpkit_runtime.stdio), with the hot request answered by
the gateway itself. A `tools/call` for a server that is running on a wire of its own (gateway.raw) is read off the
line, passed through the gateway's walls (Gateway.tool_call: the refusal policy, the audit line, metrics, a server's
tool error naming the namespaced tool, the server's stamp dropped) and answered on stdout, without the SDK's server
session: no request model, no dispatch task group hop, no result model, no memory-stream hops between the reader,
the session and the writer. Measured paired (bench/gateway_bench.py), that is most of what the gateway added to a call.

Everything else goes to the SDK's server as before: the handshake and every other method, a call before the
handshake is done, a call that asks for progress, a call whose server is not running yet or has no such wire (the
SDK's path starts it, and says why it cannot), a name the gateway does not offer (the SDK's path answers the error),
any call while traces are on (the span of a call is the SDK's), a client on the stateless era. A caller's
`notifications/cancelled` for a call answered here cancels it, and the server is told with the id it saw.

Which calls may be answered here (direct_call) and how the answer is shaped (answer) are decided once, for this front
and the HTTP one (gateway.front_http).
"""

from __future__ import annotations

from mcpkit_runtime import sdk as _sdk  # noqa: F401 - first: the SDK loads through the seam (sdk.py)

# isort: split
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
from mcp import MCPError
from mcp.shared.jsonrpc_dispatcher import handler_exception_to_error_data
from mcp_types import INTERNAL_ERROR
from mcp_types import methods as protocol
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from pydantic import BaseModel, ValidationError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from mcpkit_runtime.gateway.proxy import Gateway
    from mcpkit_runtime.stdio import GuardedStdio

log = logging.getLogger(__name__)
_COMPACT = (",", ":")


class DirectStdio:
    """What the SDK's stdio transport reads and writes (as GuardedStdio), less the calls answered here."""

    def __init__(self, stdio: GuardedStdio, gateway: Gateway) -> None:
        self._stdio = stdio
        self._gateway = gateway
        self._initialize_id: Any = None  # the client's initialize request, until the SDK has answered it
        self._version: str | None = None  # the protocol version the SDK agreed with the client
        self._open = False  # the handshake is done on a version answered here
        self._in_flight: dict[Any, anyio.CancelScope] = {}
        self.answered = 0  # calls answered here

    async def __aiter__(self) -> AsyncIterator[str]:
        async for text in self._stdio:
            if self._open:
                if ('"tools/call"' in text or '"notifications/cancelled"' in text) and self._taken(text):
                    continue
            else:
                self._watch_handshake(text)
            yield text

    async def write(self, text: str) -> None:
        if self._initialize_id is not None and self._version is None:
            self._watch_answer(text)
        await self._stdio.write(text)

    async def flush(self) -> None:
        await self._stdio.flush()

    # -- the handshake, as it goes by --------------------------------------------------------------------------------

    def _watch_handshake(self, text: str) -> None:
        if '"initialize"' in text or '"notifications/initialized"' in text:
            message = json_object(text)
            method = message.get("method") if message else None
            if method == "initialize" and "id" in message:  # type: ignore[operator]
                self._initialize_id, self._version = message["id"], None  # type: ignore[index]
            elif method == "notifications/initialized":
                self._open = self._version in HANDSHAKE_PROTOCOL_VERSIONS

    def _watch_answer(self, text: str) -> None:
        message = json_object(text)
        result = message.get("result") if message and message.get("id") == self._initialize_id else None
        if isinstance(result, dict) and isinstance(result.get("protocolVersion"), str):
            self._version = result["protocolVersion"]

    # -- calls -----------------------------------------------------------------------------------------------------

    def _taken(self, text: str) -> bool:
        """True when the line is a call started here, or a cancellation of one; False: the SDK's."""
        message = json_object(text)
        if message is None:
            return False
        cancelled = cancelled_id(message)
        if cancelled is not None:
            scope = self._in_flight.get(cancelled)
            if scope is None:
                return False
            scope.cancel()
            return True
        call = direct_call(self._gateway, message, "stdio")
        if call is None or call.request_id in self._in_flight:
            return False
        scope = self._in_flight[call.request_id] = anyio.CancelScope()
        self._gateway.task_group.start_soon(self._answer, call, scope)
        return True

    async def _answer(self, call: DirectCall, scope: anyio.CancelScope) -> None:
        """The call answered on stdout; nothing at all for a call the client cancelled."""
        try:
            with scope:
                assert self._version is not None
                response = await answer(self._gateway, call, self._version, "stdio")
            if scope.cancel_called:
                return  # the client cancelled it: it is never answered
            await self._stdio.write(json.dumps(response, separators=_COMPACT, ensure_ascii=False) + "\n")
            self.answered += 1
        finally:
            self._in_flight.pop(call.request_id, None)


@dataclass(frozen=True)
class DirectCall:
    request_id: str | int
    name: str
    arguments: dict[str, Any]


def direct_call(gateway: Gateway, message: dict[str, Any], session: str) -> DirectCall | None:
    """The one judge, for every front, of whether a message may be answered by the gateway itself: a JSON-RPC
    tools/call request, well formed, asking for no progress, for a tool the gateway offers, whose server (as
    `session` sees it) runs on a wire of its own, while traces are off. None: the SDK's path answers it."""
    request_id, params = message.get("id"), message.get("params")
    if (
        message.get("method") != "tools/call"
        or message.get("jsonrpc") != "2.0"
        or not isinstance(request_id, str | int)
        or isinstance(request_id, bool)
        or not isinstance(params, dict)
    ):
        return None
    name, arguments, meta = params.get("name"), params.get("arguments"), params.get("_meta")
    if not isinstance(name, str) or not isinstance(arguments, dict | None):
        return None
    if meta is not None and (not isinstance(meta, dict) or "progressToken" in meta):
        return None
    if gateway.observer is not None and gateway.observer.tracing:
        return None
    target = gateway.offered(name)
    if target is None or not gateway.instances.of(target[0], session).raw_ready:
        return None
    return DirectCall(request_id, name, arguments or {})


def cancelled_id(message: dict[str, Any]) -> str | int | None:
    """The request a `notifications/cancelled` message cancels; None for any other message."""
    if message.get("method") != "notifications/cancelled" or "id" in message:
        return None
    params = message.get("params")
    request_id = params.get("requestId") if isinstance(params, dict) else None
    return request_id if isinstance(request_id, str | int) and not isinstance(request_id, bool) else None


async def answer(gateway: Gateway, call: DirectCall, version: str, session: str) -> dict[str, Any]:
    """The JSON-RPC response to `call` as the SDK answers a request on `version`: the result shaped for that
    version, a protocol error as it was raised, any other failure as the SDK reports a handler's."""
    response: dict[str, Any] = {"jsonrpc": "2.0", "id": call.request_id}
    target = gateway.offered(call.name)
    try:
        if target is None:  # no longer offered (it was a moment ago)
            raise MCPError(INTERNAL_ERROR, f"{call.name}: no longer offered")
        result = await gateway.tool_call(target[0], target[1], call.name, call.arguments, session)
        if isinstance(result, BaseModel):  # the gateway's own answer (a refusal, a server down)
            result = result.model_dump(by_alias=True, mode="json", exclude_none=True)
        response["result"] = protocol.serialize_server_result("tools/call", version, result)
    except MCPError as exc:
        response["error"] = exc.error.model_dump(by_alias=True, mode="json", exclude_none=True)
    except ValidationError:
        log.exception("the answer to %s is not a valid result", call.name)
        response["error"] = {"code": INTERNAL_ERROR, "message": "Handler returned an invalid result"}
    except Exception as exc:
        error = handler_exception_to_error_data(exc)
        if error is None:
            log.exception("the call of %s raised", call.name)
        response["error"] = (
            error.model_dump(by_alias=True, mode="json", exclude_none=True)
            if error is not None
            else {"code": 0, "message": str(exc)}
        )
    return response


def json_object(text: str | bytes) -> dict[str, Any] | None:
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return message if isinstance(message, dict) else None
