"""The MCP SDK's private parts the runtime relies on, each checked against the installed SDK. A failure here names
the seam an SDK release changed; mcpkit_runtime/sdk.py is the one file to mend."""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import Context, MCPServer
from packaging.specifiers import SpecifierSet
from pydantic import ValidationError

from mcpkit_runtime import sdk

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _server() -> MCPServer:
    server = MCPServer("seam")

    @server.tool()
    def add(a: int, b: int = 1) -> int:
        return a + b

    return server


def test_the_installed_sdk_is_in_the_range_the_seams_are_tested_with() -> None:
    assert version("mcp") in SpecifierSet(sdk.SUPPORTED_SDK), (
        f"mcp {version('mcp')} is outside {sdk.SUPPORTED_SDK}: re-check every seam in mcpkit_runtime/sdk.py"
    )


def test_seam_tool_manager_get_tool() -> None:
    server = _server()
    assert hasattr(server, "_tool_manager"), "seam broken: MCPServer._tool_manager is gone"
    tool = sdk.find_tool(server, "add")
    assert tool is not None and tool.name == "add", "seam broken: MCPServer._tool_manager.get_tool"
    assert sdk.find_tool(server, "nope") is None and sdk.find_tool(server, 3) is None


def test_seam_fn_metadata_arg_model_and_pre_parse_json() -> None:
    tool = sdk.find_tool(_server(), "add")
    assert tool is not None
    assert hasattr(tool, "fn_metadata") and hasattr(tool.fn_metadata, "arg_model"), (
        "seam broken: Tool.fn_metadata.arg_model"
    )
    assert hasattr(tool.fn_metadata, "pre_parse_json"), "seam broken: FuncMetadata.pre_parse_json"
    sdk.validate_arguments(tool, {"a": "2"})
    with pytest.raises(ValidationError):
        sdk.validate_arguments(tool, {"b": 2})
    assert "a" in tool.parameters["properties"]


async def test_seam_session_connection_is_reachable_from_a_request() -> None:
    seen: dict[str, Any] = {}
    server = MCPServer("seam")

    @server.tool()
    def probe(ctx: Context) -> str:
        seen["session"] = ctx.request_context.session
        return "ok"

    async with Client(server) as client:
        await client.call_tool("probe", {})
    assert hasattr(seen["session"], "_connection"), "seam broken: ServerSession._connection"
    assert sdk.transport_session_id(seen["session"]) is None, "in memory (like stdio) there is no session id"


def test_seam_session_manager_server_instances() -> None:
    server = MCPServer("seam")
    lowlevel = sdk.lowlevel(server)
    lowlevel.streamable_http_app()
    assert hasattr(lowlevel.session_manager, "_server_instances"), (
        "seam broken: StreamableHTTPSessionManager._server_instances"
    )
    assert sdk.open_http_sessions(lowlevel) == 0


async def test_seam_connection_notify_outside_a_request() -> None:
    seen: dict[str, Any] = {}
    server = MCPServer("seam")

    @server.tool()
    def probe(ctx: Context) -> str:
        seen["connection"] = sdk.connection_of(ctx.request_context.session)
        return "ok"

    received: list[Any] = []

    async def on_message(message: Any) -> None:
        received.append(
            getattr(message, "method", None) or getattr(getattr(message, "root", None), "method", None)
        )

    async with Client(server, mode="legacy", message_handler=on_message) as client:
        await client.call_tool("probe", {})
        assert hasattr(seen["connection"], "notify"), "seam broken: ServerSession._connection.notify"
        await seen["connection"].notify("notifications/tools/list_changed", None)
        await client.list_tools()  # a round trip, so the notification has arrived
    assert "notifications/tools/list_changed" in received


async def test_seam_tool_fn_and_is_async_run_a_sync_tool_on_the_loop() -> None:
    import threading

    server = MCPServer("seam")
    threads: list[threading.Thread] = []

    @server.tool()
    def where(a: int) -> int:
        threads.append(threading.current_thread())
        return a

    sdk.run_on_the_loop(server, ["where", "missing"])
    async with Client(server) as client:
        result = await client.call_tool("where", {"a": 3})
    assert result.structured_content == {"result": 3}, "seam broken: Tool.fn is no longer what the SDK calls"
    assert threads == [threading.current_thread()], (
        "seam broken: Tool.is_async no longer keeps it off a thread"
    )


def _stderr_of_a_fresh_interpreter(script: str) -> str | None:
    """Run `script` in a new interpreter (imports as a server's process makes them); its stderr if it failed."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    return done.stderr if done.returncode else None


def test_seam_the_package_init_only_re_exports_so_a_server_loads_without_the_client() -> None:
    script = (
        "import sys; import mcpkit_runtime.sdk, mcpkit_runtime.stdio, mcpkit_runtime.server\n"
        "assert not [m for m in sys.modules if m.startswith('mcp.client')], 'the client was imported'\n"
        "from mcp import Client, MCPError, types\n"
        "assert Client.__module__ == 'mcp.client.client' and types.Tool and MCPError\n"
    )
    failed = _stderr_of_a_fresh_interpreter(script)
    assert failed is None, f"seam broken: mcp/__init__.py or a server module imports the client\n{failed}"


def test_seam_the_gateway_loads_the_client_without_mcpserver_and_a_later_mcpserver_is_whole() -> None:
    """The client imports MCPServer only for isinstance, so the gateway's process loads it with a stand-in
    (sdk._framework_left_out); a server made later in the same process is still unwrapped by the client."""
    script = (
        "import sys, anyio, mcpkit_runtime.gateway.proxy\n"
        "left = ('mcp.server.mcpserver', 'cryptography')\n"
        "assert not [m for m in sys.modules if m.startswith(left)], 'MCPServer or cryptography was loaded'\n"
        "from mcp import Client\n"
        "from mcp.server import MCPServer as Reexported\n"
        "from mcp.server.mcpserver import MCPServer\n"
        "assert Reexported is MCPServer, 'mcp.server.MCPServer is not the real class'\n"
        "server = MCPServer('late')\n"
        "@server.tool()\n"
        "def add(a: int) -> int:\n"
        "    return a + 1\n"
        "async def call(mode):\n"
        "    async with Client(server, mode=mode) as client:\n"
        "        return (await client.call_tool('add', {'a': 1})).structured_content\n"
        "assert [anyio.run(call, mode) for mode in ('legacy', 'auto')] == [{'result': 2}] * 2\n"
    )
    failed = _stderr_of_a_fresh_interpreter(script)
    assert failed is None, (
        f"seam broken: the client or mcp.server's __init__ uses MCPServer for more than isinstance\n{failed}"
    )


def test_seam_the_sdks_models_are_built_on_first_use_and_the_servers_own_at_once() -> None:
    script = (
        "import pydantic, mcpkit_runtime.sdk, mcp_types\n"
        "assert 'defer_build' not in pydantic.BaseModel.model_config, 'the default was not restored'\n"
        "assert not mcp_types.CallToolResult.__pydantic_complete__, 'built at import'\n"
        "class Own(pydantic.BaseModel):\n    x: int\n"
        "assert Own.__pydantic_complete__, 'a server model was deferred'\n"
        "result = mcp_types.CallToolResult.model_validate({'content': [{'type': 'text', 'text': 'hi'}]})\n"
        "assert result.content[0].text == 'hi' and mcp_types.CallToolResult.__pydantic_complete__\n"
    )
    failed = _stderr_of_a_fresh_interpreter(script)
    assert failed is None, (
        f"seam broken: pydantic no longer merges BaseModel.model_config as a class is defined\n{failed}"
    )


def test_seam_the_sdks_adapters_and_hand_rebuilt_models_are_built_on_first_use() -> None:
    script = (
        "import pydantic, mcpkit_runtime.sdk, mcp_types\n"
        "from mcp_types import _types, jsonrpc\n"
        "assert isinstance(vars(pydantic.TypeAdapter)['_defer_build'], property), 'the deferral was left behind'\n"
        "assert vars(pydantic.BaseModel)['model_rebuild'].__func__.__name__ == 'model_rebuild', 'rebuild left behind'\n"
        "assert not _types.client_request_adapter.pydantic_complete, 'a union adapter was built at import'\n"
        "assert not jsonrpc.jsonrpc_message_adapter.pydantic_complete, 'the message adapter was built at import'\n"
        "assert not _types.CallToolRequestParams.__pydantic_complete__, 'a hand rebuild ran at import'\n"
        "answer = {'content': [{'type': 'text', 'text': 'yes'}], 'action': 'accept'}\n"
        "params = _types.CallToolRequestParams.model_validate(\n"
        "    {'name': 't', 'inputResponses': {'ask': {'action': 'accept', 'content': {'ok': True}}}})\n"
        "assert type(params.input_responses['ask']).__name__ == 'ElicitResult', params\n"
        "request = _types.client_request_adapter.validate_python({'method': 'ping', 'params': None})\n"
        "assert type(request).__name__ == 'PingRequest' and _types.client_request_adapter.pydantic_complete\n"
        'message = jsonrpc.jsonrpc_message_adapter.validate_json(\'{"jsonrpc": "2.0", "id": 1, "result": {}}\')\n'
        "assert type(message).__name__ == 'JSONRPCResponse', message\n"
        "adapter = pydantic.TypeAdapter(int | str)\n"
        "assert adapter.pydantic_complete, 'a server adapter was deferred'\n"
    )
    failed = _stderr_of_a_fresh_interpreter(script)
    assert failed is None, (
        "seam broken: pydantic's TypeAdapter deferral or a deferred model's rebuild on first use changed\n"
        f"{failed}"
    )


def test_seam_sse_starlette_loads_without_uvicorn_and_its_hook_goes_in_when_http_is_served() -> None:
    script = (
        "import sys, typing, mcpkit_runtime.sdk as sdk, sse_starlette.sse as sse\n"
        "assert 'uvicorn' not in sys.modules, 'a server start imported uvicorn'\n"
        "assert 'compile' not in vars(typing), 'typing.compile was left behind'\n"
        "assert sse.AppStatus.original_handler is None\n"
        "sdk.hook_sse_into_uvicorn(); sdk.hook_sse_into_uvicorn()\n"
        "from uvicorn.main import Server\n"
        "assert Server.handle_exit is sse.AppStatus.handle_exit, 'the drain hook is not in uvicorn'\n"
        "assert sse.AppStatus.original_handler.__qualname__ == 'Server.handle_exit', 'hooked twice'\n"
    )
    failed = _stderr_of_a_fresh_interpreter(script)
    assert failed is None, f"seam broken: sse_starlette no longer hooks uvicorn as sdk.py expects\n{failed}"


def test_seam_typing_forward_refs_compile_through_the_module_global() -> None:
    """The SDK's annotation strings are compiled once each during its import (sdk._annotations_compiled_once)."""
    script = (
        "import typing\n"
        "calls = []\n"
        "typing.compile = lambda *a: calls.append(a) or compile(*a)\n"
        "typing.ForwardRef('int | None')\n"
        "assert calls == [('int | None', '<string>', 'eval')], calls\n"
    )
    failed = _stderr_of_a_fresh_interpreter(script)
    assert failed is None, (
        f"seam broken: ForwardRef no longer compiles through typing's global compile\n{failed}"
    )


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_seam_client_session_stamp_marks_a_request_for_the_agreed_era(mode: str) -> None:
    async with Client(_server(), mode=mode) as client:  # type: ignore[arg-type]
        stamp = sdk.request_stamp(client.session)
        assert stamp is not None, "seam broken: ClientSession._stamp"
        data: dict[str, Any] = {"method": "tools/call", "params": {"name": "add", "arguments": {"a": 1}}}
        options: dict[str, Any] = {}
        stamp(data, options)
    versions = {value for key, value in options["headers"].items() if key.lower() == "mcp-protocol-version"}
    assert versions, f"seam broken: the stamp no longer names the era's version ({options})"
    assert data["params"]["name"] == "add" and data["params"]["arguments"] == {"a": 1}


async def test_seam_request_back_channel_tells_whether_progress_was_asked() -> None:
    asked: list[bool] = []
    server = MCPServer("seam")

    @server.tool()
    def probe(ctx: Context) -> str:
        asked.append(sdk.progress_asked(ctx.request_context))
        return "ok"

    async def progress(progress: float, total: float | None, message: str | None) -> None:
        return None

    for mode in ("legacy", "auto"):
        async with Client(server, mode=mode) as client:  # type: ignore[arg-type]
            await client.call_tool("probe", {})
            await client.call_tool("probe", {}, progress_callback=progress)
    assert asked == [False, True, False, True], (
        f"seam broken: ServerSession._request_outbound no longer tells a caller's progress ({asked})"
    )


async def test_seam_a_live_http_session_is_found_and_held_open_beside_its_transport() -> None:
    from mcp.server.streamable_http import StreamableHTTPServerTransport

    lowlevel = sdk.lowlevel(MCPServer("seam"))
    lowlevel.streamable_http_app()
    manager = lowlevel.session_manager
    transport = StreamableHTTPServerTransport(mcp_session_id="s1", idle_timeout=60.0)
    async with transport.connect():
        manager._server_instances["s1"] = transport
        assert sdk.live_http_session(lowlevel, "s1") is transport
        assert sdk.live_http_session(lowlevel, "s2") is None and sdk.live_http_session(lowlevel, None) is None
        idle = transport.idle_scope
        assert idle is not None, "seam broken: StreamableHTTPServerTransport.idle_scope"
        with sdk.http_request_in_flight(transport), sdk.http_request_in_flight(transport):
            assert transport._requests_in_flight == 2 and idle.deadline == float("inf")
        assert transport._requests_in_flight == 0 and idle.deadline < float("inf"), (
            "seam broken: the idle countdown (_idle_timeout, _requests_in_flight)"
        )
        manager._session_owners["s1"] = object()  # type: ignore[assignment]
        assert sdk.live_http_session(lowlevel, "s1") is None, "a session bound to a credential is the SDK's"
        del manager._session_owners["s1"]
        await transport.terminate()
        assert sdk.live_http_session(lowlevel, "s1") is None
