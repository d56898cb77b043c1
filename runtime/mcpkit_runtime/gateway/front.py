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
"""

from __future__ import annotations

from mcpkit_runtime import sdk as _sdk  # noqa: F401 - first: the SDK loads through the seam (sdk.py)

# isort: split
import json
import logging
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
            message = _object(text)
            method = message.get("method") if message else None
            if method == "initialize" and "id" in message:  # type: ignore[operator]
                self._initialize_id, self._version = message["id"], None  # type: ignore[index]
            elif method == "notifications/initialized":
                self._open = self._version in HANDSHAKE_PROTOCOL_VERSIONS

    def _watch_answer(self, text: str) -> None:
        message = _object(text)
        result = message.get("result") if message and message.get("id") == self._initialize_id else None
        if isinstance(result, dict) and isinstance(result.get("protocolVersion"), str):
            self._version = result["protocolVersion"]

    # -- calls -----------------------------------------------------------------------------------------------------

    def _taken(self, text: str) -> bool:
        """True when the line is a call started here, or a cancellation of one; False: the SDK's."""
        message = _object(text)
        if message is None:
            return False
        if message.get("method") == "notifications/cancelled":
            params = message.get("params")
            request_id = params.get("requestId") if isinstance(params, dict) else None
            scope = self._in_flight.get(request_id) if isinstance(request_id, str | int) else None
            if scope is None:
                return False
            scope.cancel()
            return True
        request_id, params = message.get("id"), message.get("params")
        if (
            message.get("method") != "tools/call"
            or not isinstance(request_id, str | int)
            or isinstance(request_id, bool)
            or request_id in self._in_flight
            or not isinstance(params, dict)
        ):
            return False
        name, arguments, meta = params.get("name"), params.get("arguments"), params.get("_meta")
        if not isinstance(name, str) or not isinstance(arguments, dict | None):
            return False
        if meta is not None and (not isinstance(meta, dict) or "progressToken" in meta):
            return False
        gateway = self._gateway
        if gateway.observer is not None and gateway.observer.tracing:
            return False
        target = gateway.offered(name)
        if target is None or not gateway.instances.of(target[0], "stdio").raw_ready:
            return False
        scope = self._in_flight[request_id] = anyio.CancelScope()
        gateway.task_group.start_soon(self._answer, request_id, scope, name, arguments or {})
        return True

    async def _answer(
        self, request_id: Any, scope: anyio.CancelScope, name: str, arguments: dict[str, Any]
    ) -> None:
        """As the SDK answers a request: the result shaped for the client's version, a protocol error as it was
        raised, any other failure as the SDK reports a handler's; nothing at all for a call the client cancelled."""
        gateway = self._gateway
        response: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id}
        try:
            with scope:
                target = gateway.offered(name)
                try:
                    if target is None:  # no longer offered (it was a moment ago)
                        raise MCPError(INTERNAL_ERROR, f"{name}: no longer offered")
                    result = await gateway.tool_call(target[0], target[1], name, arguments, "stdio")
                    assert self._version is not None
                    if isinstance(result, BaseModel):  # the gateway's own answer (a refusal, a server down)
                        result = result.model_dump(by_alias=True, mode="json", exclude_none=True)
                    response["result"] = protocol.serialize_server_result("tools/call", self._version, result)
                except MCPError as exc:
                    response["error"] = exc.error.model_dump(by_alias=True, mode="json", exclude_none=True)
                except ValidationError:
                    log.exception("the answer to %s is not a valid result", name)
                    response["error"] = {
                        "code": INTERNAL_ERROR,
                        "message": "Handler returned an invalid result",
                    }
                except Exception as exc:
                    error = handler_exception_to_error_data(exc)
                    if error is None:
                        log.exception("the call of %s raised", name)
                    response["error"] = (
                        error.model_dump(by_alias=True, mode="json", exclude_none=True)
                        if error is not None
                        else {"code": 0, "message": str(exc)}
                    )
            if scope.cancel_called:
                return  # the client cancelled it: it is never answered
            await self._stdio.write(json.dumps(response, separators=_COMPACT, ensure_ascii=False) + "\n")
            self.answered += 1
        finally:
            self._in_flight.pop(request_id, None)


def _object(text: str) -> dict[str, Any] | None:
    try:
        message = json.loads(text)
    except ValueError:
        return None
    return message if isinstance(message, dict) else None
