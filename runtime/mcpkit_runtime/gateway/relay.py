"""A tool call passed to a server and its answer passed back as the server gave it: a JSON object, not a model.

The SDK client's `call_tool` builds a `CallToolResult` from the answer and checks its structured content against the
tool's output schema (jsonschema); the gateway's server side then dumps that model again. Neither is needed on the
way through: the answer is still checked against the protocol's result shape on each side (the SDK does that for
any request), and the caller's own client checks the output schema, which the gateway lists unchanged. Measured per
call through the gateway (profile of 1,000 run_sql calls), the schema check was about a tenth of the gateway's own
time, the model's building and dumping a few per cent more.

What `call_tool` does besides is kept: trace context and the `Mcp-Name` header (both stamped on every request the
session sends), progress, and, on a 2026-07-28 connection, the re-listing and one resend after a HEADER_MISMATCH
(the full call is made then).
"""

from __future__ import annotations

from mcpkit_runtime import sdk as _sdk  # noqa: F401 - first: the SDK loads through the seam (sdk.py)

# isort: split
from typing import Any, TypeVar

import mcp_types as types
from mcp import Client, MCPError
from mcp.shared.dispatcher import ProgressFnT
from pydantic import TypeAdapter

_AS_SENT = TypeAdapter(dict[str, Any])
Result = TypeVar("Result", types.GetPromptResult, types.ReadResourceResult)


async def call_tool(
    client: Client, name: str, arguments: dict[str, Any], progress: ProgressFnT | None = None
) -> dict[str, Any]:
    """The server's answer to tools/call as a JSON object (a result, a tool error, or another result shape)."""
    request = types.CallToolRequest(params=types.CallToolRequestParams(name=name, arguments=arguments))
    try:
        # The SDK annotates the result type as a model; a TypeAdapter of any type is what it runs with.
        answer = await client.session.send_request(request, _AS_SENT, progress_callback=progress)  # type: ignore[type-var]
    except MCPError as exc:
        if exc.code != types.HEADER_MISMATCH:
            raise
        result = await client.call_tool(name, arguments, progress_callback=progress)
        answer = result.model_dump(by_alias=True, mode="json", exclude_none=True)
    return _unstamped(answer)


def answered(response: dict[str, Any]) -> dict[str, Any]:
    """A server's response message to tools/call, read off its wire (gateway.raw), as `call_tool` returns one: its
    result without the server's stamp, or its error raised as the SDK's session raises it."""
    result = response.get("result")
    if "error" in response:
        error = response["error"] if isinstance(response["error"], dict) else {}
        code, message = error.get("code"), error.get("message")
        raise MCPError(code if isinstance(code, int) else types.INTERNAL_ERROR,
                       message if isinstance(message, str) else "the server's error has no message", error.get("data"))  # fmt: skip
    if not isinstance(result, dict):
        raise MCPError(types.INTERNAL_ERROR, "the server's answer to tools/call is not a result object")
    return _unstamped(result)


def _unstamped(answer: dict[str, Any]) -> dict[str, Any]:
    """Without the server's own `serverInfo` stamp (2026-07-28): the caller is answered by the gateway, which stamps
    its own where the caller's era has one (a stamp already there would be kept instead)."""
    meta = answer.get("_meta")
    if not isinstance(meta, dict) or types.SERVER_INFO_META_KEY not in meta:
        return answer
    kept = _without_stamp(meta)
    return {k: v for k, v in answer.items() if k != "_meta"} | ({"_meta": kept} if kept else {})


def unstamped(result: Result) -> Result:
    """A prompt or a resource the SDK's client returned as a model, without the server's `serverInfo` stamp (as
    `_unstamped` for a tool's answer)."""
    if not result.meta or types.SERVER_INFO_META_KEY not in result.meta:
        return result
    return result.model_copy(update={"meta": _without_stamp(result.meta)})


def _without_stamp(meta: dict[str, Any]) -> dict[str, Any] | None:
    return {key: value for key, value in meta.items() if key != types.SERVER_INFO_META_KEY} or None


def is_error(result: dict[str, Any]) -> bool:
    return result.get("isError") is True


def renamed_error(result: dict[str, Any], inner: str, named: str) -> dict[str, Any]:
    """A server's tool error naming the tool as the caller knows it (the SDK's "Error executing tool NAME", and its
    "Unknown tool: NAME" for a name the server does not have)."""
    content = result.get("content")
    if not isinstance(content, list):
        return result
    renamed = [{**c, "text": _renamed(c["text"], inner, named)} if isinstance(c, dict) and isinstance(c.get("text"), str) else c
               for c in content]  # fmt: skip
    return {**result, "content": renamed}


def _renamed(text: str, inner: str, named: str) -> str:
    for said in ("Error executing tool ", "Unknown tool: "):
        if text.startswith(said + inner):
            return said + named + text[len(said + inner) :]
    return text
