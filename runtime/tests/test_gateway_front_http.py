"""The gateway's HTTP front (gateway.front_http) over real HTTP: uvicorn on a free loopback port, the SDK's own
client, a real MCP server behind the gateway on the engine's framing (framed.py), so calls can be answered by the
front itself; and what must still go to the SDK, and the walls that must still hold."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
import pytest
from framed import alpha, framed
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client

from mcpkit_runtime import http
from mcpkit_runtime.audit import AuditLog
from mcpkit_runtime.gateway import front_http
from mcpkit_runtime.gateway.front_http import DirectHttp
from mcpkit_runtime.gateway.proxy import Gateway
from mcpkit_runtime.gateway.raw import PREFIX
from mcpkit_runtime.gateway.settings import GatewaySettings

Serve = Callable[..., str]  # the serve_asgi fixture (conftest.py)
HANDSHAKE = "2025-11-25"
TOKEN = "t0ken-for-tests"
POST = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


class Served:
    """A gateway over one framed server, served over HTTP, its front and audit log at hand."""

    def __init__(self, serve_asgi: Serve, settings: GatewaySettings | None = None, token: str | None = None):
        self.server = alpha()
        self.downstream, self.seen = framed("alpha", self.server)
        self.audit = io.StringIO()
        self.gateway = Gateway([self.downstream], settings or GatewaySettings(),
                               audit=AuditLog("mcpkit-gateway", "1.0", stream=self.audit))  # fmt: skip
        self.fronts: list[DirectHttp] = []

        def front(app: Any, server: Any) -> DirectHttp:
            self.fronts.append(self.gateway.http_front(app, server))
            return self.fronts[-1]

        app = http.app(self.gateway.server(), host="127.0.0.1", token=token, health=self.gateway.health,
                       allowed_hosts=[], front=front)  # fmt: skip
        self.url = serve_asgi(app) + "/mcp"
        self.token = token

    @property
    def answered(self) -> int:
        return self.fronts[0].answered

    def audited(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.audit.getvalue().splitlines()]

    @asynccontextmanager
    async def client(self, mode: str = "legacy") -> AsyncIterator[Client]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=30) as http_client,
            Client(streamable_http_client(self.url, http_client=http_client), mode=mode) as client,  # type: ignore[arg-type]
        ):
            with anyio.fail_after(30):
                while not self.downstream.raw_ready:  # the server starts in the background
                    await client.list_tools()
                    await anyio.sleep(0.01)
            yield client

    async def session(self, http_client: httpx2.AsyncClient) -> dict[str, str]:
        """A handshake done by hand; the headers of a request of that session."""
        auth = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        initialize = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": HANDSHAKE, "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}  # fmt: skip
        opened = await http_client.post(self.url, json=initialize, headers={**POST, **auth})
        headers = {**POST, **auth, "Mcp-Session-Id": opened.headers["mcp-session-id"],
                   "MCP-Protocol-Version": HANDSHAKE}  # fmt: skip
        initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        assert (await http_client.post(self.url, json=initialized, headers=headers)).status_code == 202
        # The SDK answers 202 before its server has seen the notification: until it has, calls are the SDK's.
        await _until(
            lambda: self.downstream.raw_ready and headers["Mcp-Session-Id"] in self.fronts[0]._sessions
        )
        return headers


async def _until(done: Callable[[], bool]) -> None:
    """Polled: the server sets its events on the server's thread, where this test's loop is not woken."""
    with anyio.fail_after(30):
        while not done():
            await anyio.sleep(0.01)


def _request(method: str, params: dict[str, Any], request_id: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}


def _call(name: str, arguments: dict[str, Any], request_id: Any = 1, **meta: Any) -> dict[str, Any]:
    params = {"name": name, "arguments": arguments} | ({"_meta": meta} if meta else {})
    return _request("tools/call", params, request_id)


def _message(response: httpx2.Response) -> dict[str, Any]:
    """The one message of an answer, a JSON body or an event stream."""
    if response.headers["content-type"] == "application/json":
        return dict(response.json())
    (data,) = [line[6:] for line in response.text.split("\r\n") if line.startswith("data: ")]
    return dict(json.loads(data))


def test_a_call_is_answered_by_the_front_with_its_audit_line_under_the_clients_session(
    serve_asgi: Serve,
) -> None:
    served = Served(serve_asgi)

    async def calls() -> tuple[Any, Any]:
        async with served.client() as client:
            return await client.call_tool("alpha__add", {"a": 2, "b": 3}), await client.call_tool(
                "alpha__fail", {"reason": "because"}
            )

    added, failed = anyio.run(calls)
    assert added.structured_content == {"result": 5} and not added.is_error
    assert failed.is_error and failed.content[0].text.startswith("Error executing tool alpha__fail")
    assert served.answered == 2, "both answered by the gateway's HTTP front, not the SDK's transport"
    sent = [m for m in served.seen if m.get("method") == "tools/call"]
    assert all(str(m["id"]).startswith(PREFIX) for m in sent), "on the server's own wire"
    lines = served.audited()
    assert [(a["tool"], a["outcome"]) for a in lines] == [("alpha__add", "ok"), ("alpha__fail", "error")]
    assert lines[0]["session"] == lines[1]["session"] != "stdio", "under the client's HTTP session"


def test_each_session_keeps_its_own_budget_on_the_front(serve_asgi: Serve) -> None:
    served = Served(serve_asgi, GatewaySettings.model_validate({"session-budget": 2}))

    async def two_clients() -> list[list[bool]]:
        async with served.client() as first, served.client() as second:
            spent = [(await first.call_tool("alpha__add", {"a": 1, "b": 1})).is_error for _ in range(3)]
            fresh = [(await second.call_tool("alpha__add", {"a": 1, "b": 1})).is_error for _ in range(2)]
            return [spent, fresh]

    assert anyio.run(two_clients) == [[False, False, True], [False, False]], "B is not refused for A's calls"
    assert served.answered == 5
    outcomes = [(a["session"], a["outcome"]) for a in served.audited()]
    assert len({session for session, _ in outcomes}) == 2
    assert [outcome for _, outcome in outcomes] == ["ok", "ok", "refused_budget", "ok", "ok"]


def test_the_stateless_era_progress_and_unknown_names_go_to_the_sdk(serve_asgi: Serve) -> None:
    served = Served(serve_asgi)
    progress: list[float] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(done)

    async def calls() -> tuple[Any, Any, str]:
        async with served.client("auto") as modern:
            stateless = await modern.call_tool("alpha__add", {"a": 1, "b": 2})
        async with served.client() as client:
            slow = await client.call_tool("alpha__slow", {"steps": 2}, progress_callback=on_progress)
            with pytest.raises(MCPError) as unknown:
                await client.call_tool("beta__add", {})
        return stateless, slow, str(unknown.value)

    stateless, slow, unknown = anyio.run(calls)
    assert stateless.structured_content == {"result": 3}
    assert not slow.is_error and progress == [1, 2], "progress reaches the caller"
    assert "unknown tool" in unknown and "beta__add" in unknown, "the error names the tool as the caller did"
    assert served.answered == 0


def test_a_tool_the_server_does_not_have_is_named_as_the_caller_named_it(serve_asgi: Serve) -> None:
    served = Served(serve_asgi)

    async def call() -> Any:
        async with served.client() as client:
            return await client.call_tool("alpha__nope", {})

    missing = anyio.run(call)
    assert missing.is_error and missing.content[0].text == "Unknown tool: alpha__nope"
    assert served.answered == 1


def test_the_fronts_answer_is_the_sdks_answer(serve_asgi: Serve) -> None:
    served = Served(serve_asgi)

    async def both() -> list[httpx2.Response]:
        async with httpx2.AsyncClient(timeout=30) as http_client:
            headers = await served.session(http_client)
            direct = await http_client.post(served.url, json=_call("alpha__add", {"a": 1, "b": 2}, 7), headers=headers)  # fmt: skip
            # Asking for progress sends the same call through the SDK's transport and session.
            sdk = await http_client.post(served.url, json=_call("alpha__add", {"a": 1, "b": 2}, 7, progressToken="p"), headers=headers)  # fmt: skip
            bad_version = {**headers, "MCP-Protocol-Version": "1999-01-01"}
            refused = await http_client.post(served.url, json=_call("alpha__add", {"a": 1, "b": 2}, 8), headers=bad_version)  # fmt: skip
            return [direct, sdk, refused]

    direct, sdk, refused = anyio.run(both)
    assert served.answered == 1
    assert direct.status_code == sdk.status_code == 200
    assert direct.headers["mcp-session-id"] == sdk.headers["mcp-session-id"]
    assert direct.headers["content-type"] == "application/json", (
        "one body, read to its end: the connection is kept"
    )
    assert sdk.headers["content-type"] == "text/event-stream"
    assert _message(direct) == _message(sdk)
    assert refused.status_code == 400 and "protocolVersion" in refused.text, (
        "the SDK's answer to a bad version"
    )


def test_the_host_check_and_the_token_still_hold(serve_asgi: Serve) -> None:
    served = Served(serve_asgi, token=TOKEN)

    async def requests() -> list[httpx2.Response]:
        async with httpx2.AsyncClient(timeout=30) as http_client:
            headers = await served.session(http_client)
            call = _call("alpha__add", {"a": 1, "b": 2})
            rebound = await http_client.post(
                served.url, json=call, headers={**headers, "Host": "attacker.example"}
            )
            origin = {**headers, "Origin": "http://attacker.example"}
            foreign = await http_client.post(served.url, json=call, headers=origin)
            no_token = {k: v for k, v in headers.items() if k != "Authorization"}
            anonymous = await http_client.post(served.url, json=call, headers=no_token)
            answered = await http_client.post(served.url, json=call, headers=headers)
            return [rebound, foreign, anonymous, answered]

    rebound, foreign, anonymous, answered = anyio.run(requests)
    assert (rebound.status_code, foreign.status_code, anonymous.status_code) == (421, 403, 401)
    assert _message(answered)["result"]["structuredContent"] == {"result": 3}
    assert served.answered == 1
    assert len([a for a in served.audited() if a["event"] == "tool_call"]) == 1, "refused before any call"


def test_a_cancelled_call_reaches_the_server_and_is_answered_as_the_sdk_answers_it(serve_asgi: Serve) -> None:
    served = Served(serve_asgi)

    async def cancelled() -> tuple[httpx2.Response, httpx2.Response]:
        async with httpx2.AsyncClient(timeout=30) as http_client:
            headers = await served.session(http_client)
            answers: list[httpx2.Response] = []

            async def wait() -> None:
                answers.append(await http_client.post(served.url, json=_call("alpha__wait_forever", {}, 77), headers=headers))  # fmt: skip

            async with anyio.create_task_group() as group:
                group.start_soon(wait)
                await _until(served.server.waiting.is_set)  # type: ignore[attr-defined]
                note = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 77}}
                accepted = await http_client.post(served.url, json=note, headers=headers)
            await _until(served.server.cancelled.is_set)  # type: ignore[attr-defined]
            return answers[0], accepted

    answer, accepted = anyio.run(cancelled)
    assert accepted.status_code == 202 and accepted.headers["mcp-session-id"]
    assert _message(answer) == {"jsonrpc": "2.0", "id": 77,
                                   "error": {"code": -32800, "message": "Request cancelled"}}  # fmt: skip
    (call,) = [m for m in served.seen if m.get("method") == "tools/call"]
    cancels = [m["params"]["requestId"] for m in served.seen if m.get("method") == "notifications/cancelled"]
    assert cancels == [call["id"]], "the server is told, with the id it saw"
    assert served.answered == 1 and not served.fronts[0]._in_flight


def test_a_call_still_running_is_answered_on_an_event_stream_kept_alive(
    serve_asgi: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(front_http, "PING_SECONDS", 0.2)
    served = Served(serve_asgi)

    async def long_call() -> httpx2.Response:
        async with httpx2.AsyncClient(timeout=30) as http_client:
            headers = await served.session(http_client)
            answers: list[httpx2.Response] = []

            async def wait() -> None:
                answers.append(await http_client.post(served.url, json=_call("alpha__wait_forever", {}, "w"), headers=headers))  # fmt: skip

            async with anyio.create_task_group() as group:
                group.start_soon(wait)
                await _until(served.server.waiting.is_set)  # type: ignore[attr-defined]
                await anyio.sleep(0.5)  # past the ping interval, twice
                note = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": "w"}}
                await http_client.post(served.url, json=note, headers=headers)
            return answers[0]

    answer = anyio.run(long_call)
    assert answer.headers["content-type"] == "text/event-stream" and answer.text.startswith(": ping\r\n\r\n")
    assert _message(answer)["error"]["code"] == -32800


def test_a_client_that_goes_away_cancels_its_call(serve_asgi: Serve) -> None:
    served = Served(serve_asgi)

    async def abandon() -> None:
        async with httpx2.AsyncClient(timeout=30) as http_client:
            headers = await served.session(http_client)
        async with httpx2.AsyncClient(timeout=30) as http_client, anyio.create_task_group() as group:

            async def wait() -> None:
                await http_client.post(served.url, json=_call("alpha__wait_forever", {}), headers=headers)

            group.start_soon(wait)
            await _until(served.server.waiting.is_set)  # type: ignore[attr-defined]
            group.cancel_scope.cancel()  # the connection is closed under the call
        await _until(served.server.cancelled.is_set)  # type: ignore[attr-defined]

    anyio.run(abandon)
    assert served.answered == 0 and not served.fronts[0]._in_flight, "nothing answered, nothing left"


def test_a_body_over_the_limit_is_refused_by_the_sdk(serve_asgi: Serve) -> None:
    served = Served(serve_asgi)

    async def large() -> httpx2.Response:
        async with httpx2.AsyncClient(timeout=30) as http_client:
            headers = await served.session(http_client)
            call = _call("alpha__add", {"a": 1, "b": 2, "pad": "x" * (4 * 1024 * 1024)})
            return await http_client.post(served.url, json=call, headers=headers)

    assert anyio.run(large).status_code == 413
    assert served.answered == 0


def test_a_stateless_era_call_does_not_list_every_servers_tools_first(serve_asgi: Serve) -> None:
    """The SDK checks a 2026-07-28 call's Mcp-Param headers against the tool's input schema: the gateway gives it
    the schema it offered (Gateway.input_schema) rather than having it list every server's tools for each call."""
    served = Served(serve_asgi)

    async def calls() -> list[Any]:
        async with served.client("auto") as modern:
            await modern.call_tool("alpha__add", {"a": 0, "b": 0})
            # The gateway lists a server's tools once it has started, in the background.
            await anyio.sleep(0.5)
            listed = len([m for m in served.seen if m.get("method") == "tools/list"])
            answers = [await modern.call_tool("alpha__add", {"a": 1, "b": n}) for n in range(3)]
            assert len([m for m in served.seen if m.get("method") == "tools/list"]) == listed
            return [a.structured_content for a in answers]

    assert anyio.run(calls) == [{"result": 1}, {"result": 2}, {"result": 3}]
    schema = served.gateway.input_schema("alpha__add")
    assert schema is not None and set(schema["properties"]) == {"a", "b"}
    assert (
        served.gateway.input_schema("alpha__nope") is None
        and served.gateway.input_schema("beta__add") is None
    )
