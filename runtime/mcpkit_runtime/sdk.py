"""Every use of the MCP SDK's private parts, in one place.

The SDK (2.3) has no public way yet to find a registered tool, to validate arguments the way the tool itself will,
to learn the transport's session id inside a request, to count open HTTP sessions, or to serve a request of a
handshake-era HTTP session beside its transport. When an SDK release changes one of these, this module is
the one file to mend, and tests/test_sdk_seam.py names the seam that broke.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import math
import sys
import types
import typing
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any, cast

import anyio
import pydantic

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.tools.base import Tool


def _server_without_the_client() -> None:
    """The `mcp` package's __init__ imports the whole client (Client, sessions, stdio and HTTP clients) for its
    re-exports, which a server never uses: a few tens of milliseconds of every start. Imported before anything else
    of the SDK, this module puts the package in place with its __init__ not yet run, so `mcp.server...` loads alone;
    the first use of a name the __init__ re-exports (`from mcp import Client`) runs it then, whole (seam: the package
    __init__ holds re-exports only, and no server module imports from it)."""
    if "mcp" in sys.modules:
        return
    spec = importlib.util.find_spec("mcp")
    if spec is None or spec.loader is None or not spec.submodule_search_locations:
        return
    package = importlib.util.module_from_spec(spec)
    loader = spec.loader

    def completed(name: str) -> Any:
        if "__getattr__" in vars(package):
            del package.__getattr__  # the real __init__ runs once, and looks its own names up normally
            loader.exec_module(package)
        return object.__getattribute__(package, name)

    setattr(package, "__getattr__", completed)  # noqa: B010 - a module-level __getattr__, set from outside
    sys.modules["mcp"] = package


@contextlib.contextmanager
def _models_built_when_first_used() -> Iterator[None]:
    """`mcp_types` defines every protocol model of both protocol eras (about 450 pydantic classes) at import, and
    pydantic builds each one's validator as it is defined: the largest part of a server's start, while a session
    speaks one era and uses a few dozen models. The models defined meanwhile (the SDK's own) get pydantic's
    defer_build, so each is built on its first use; the default is restored after, so no model of the servers' own
    is deferred (seam: pydantic merges BaseModel.model_config into each class's config as it is defined)."""
    config = pydantic.BaseModel.model_config
    if "defer_build" in config or "mcp_types" in sys.modules:
        yield
        return
    config["defer_build"] = True
    try:
        yield
    finally:
        del config["defer_build"]


@contextlib.contextmanager
def _adapters_and_rebuilds_when_first_used() -> Iterator[None]:
    """Besides its models, the SDK builds at import what defer_build does not reach: TypeAdapters over the message
    unions of both eras (a validator over every request, result and notification type; mcp_types/_types.py and
    jsonrpc.py) and four models it rebuilds by hand. Built, they pull in most of the ~450 models the deferral left
    alone: about 8 % of a server's start to its first answer, for unions a session mostly never validates against.
    Meanwhile an adapter of a type without a config of its own is deferred as a model is, and a plain
    `model_rebuild()` of a deferred model leaves it to be built, from its module's names, on its first use (seam:
    TypeAdapter._defer_build, and a deferred model's mock validator calling model_rebuild)."""
    adapter = pydantic.TypeAdapter
    deferral = adapter.__dict__["_defer_build"]
    rebuild = pydantic.BaseModel.__dict__["model_rebuild"]
    if (
        not isinstance(deferral, property)
        or not isinstance(rebuild, classmethod)
        or "mcp_types" in sys.modules
    ):
        yield
        return

    def deferred(self: Any) -> bool:
        return True if self._config is None and self._model_config is None else bool(deferral.__get__(self))

    def rebuilt_later(cls: Any, *, force: bool = False, **kwargs: Any) -> bool | None:
        if not force and not kwargs and cls.model_config.get("defer_build"):
            return None
        # This frame is one more between the caller and pydantic.
        depth = kwargs.pop("_parent_namespace_depth", 2) + 1
        built = rebuild.__func__(cls, force=force, _parent_namespace_depth=depth, **kwargs)
        return cast("bool | None", built)

    adapter._defer_build = property(deferred)  # type: ignore[method-assign, assignment]
    pydantic.BaseModel.model_rebuild = classmethod(rebuilt_later)  # type: ignore[method-assign, assignment]
    try:
        yield
    finally:
        adapter._defer_build = deferral  # type: ignore[method-assign, assignment]
        pydantic.BaseModel.model_rebuild = rebuild  # type: ignore[method-assign, assignment]


@contextlib.contextmanager
def _annotations_compiled_once() -> Iterator[None]:
    """`mcp_types` postpones its annotations, so pydantic turns each of ~2,400 annotation strings into a
    typing.ForwardRef, which compiles the string anew: three in four are repeats (`str | None`, `dict[str, Any] |
    None` ...), about 4 % of a server's start. Meanwhile typing's `compile` remembers each string's code, which is
    immutable and so shared safely (seam: ForwardRef.__init__ calls the global `compile`, Python 3.11-3.13)."""
    if "compile" in vars(typing):
        yield
        return
    typing.compile = functools.lru_cache(maxsize=None)(compile)  # type: ignore[attr-defined]
    try:
        yield
    finally:
        del typing.compile  # type: ignore[attr-defined]


@contextlib.contextmanager
def _uvicorn_left_for_http() -> Iterator[None]:
    """sse_starlette imports uvicorn (and with it click, multiprocessing, logging.config) when it is imported, only to
    hook its graceful drain into uvicorn's exit handler: about 4 % of every start, stdio ones included. Meanwhile
    uvicorn cannot be imported, which sse_starlette takes as "not installed"; `hook_sse_into_uvicorn` installs the
    hook when HTTP is served (seam: sse_starlette.sse tries `from uvicorn.main import Server` at import)."""
    if "uvicorn" in sys.modules or "sse_starlette.sse" in sys.modules:
        yield
        return
    sys.modules["uvicorn"] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        if sys.modules.get("uvicorn", False) is None:
            del sys.modules["uvicorn"]


def hook_sse_into_uvicorn() -> None:
    """What sse_starlette does at import when uvicorn is there: uvicorn's exit handler first tells open event
    streams to end, so a graceful shutdown does not wait on them (seam: AppStatus.original_handler and
    AppStatus.handle_exit)."""
    from sse_starlette.sse import AppStatus
    from uvicorn.main import Server as Uvicorn

    if Uvicorn.handle_exit is not AppStatus.handle_exit:
        AppStatus.original_handler = Uvicorn.handle_exit
        Uvicorn.handle_exit = AppStatus.handle_exit  # type: ignore[method-assign]


class _LoadedLater(type):
    """The type of a stand-in for a class not loaded yet, in the module named by its `real` attribute: an object is
    an instance of the stand-in when it is one of the real class, once that is loaded (before, none can be)."""

    def __instancecheck__(cls, instance: object) -> bool:
        real = getattr(sys.modules.get(cls.real), cls.__name__, None)  # type: ignore[attr-defined]
        return real is not None and isinstance(instance, real)


def _framework_on_first_use(name: str) -> Any:
    """`mcp.server.MCPServer` (the package's re-export), loaded when it is first asked for."""
    if name != "MCPServer":
        raise AttributeError(f"module 'mcp.server' has no attribute {name!r}")
    from mcp.server.mcpserver import MCPServer

    return MCPServer


@contextlib.contextmanager
def _framework_left_out() -> Iterator[None]:
    """A process that serves with the low-level Server only (the gateway, which is a client too: its package is
    imported before any of its modules imports this one) never makes an MCPServer, whose package loads cryptography
    to seal request state: 6.6 MiB of the gateway's memory. Yet `mcp.server`'s __init__ re-exports MCPServer, and
    the client imports it only to unwrap one it is given (`isinstance(server, MCPServer)`). Meanwhile
    `mcp.server.mcpserver` is a stand-in whose MCPServer answers isinstance as the real class will, and the client
    is imported; after, `import mcp.server.mcpserver` loads the real package and `mcp.server.MCPServer` is it
    (seam: mcp/client/client.py and _memory.py use MCPServer for isinstance only, and mcp/server/__init__.py
    re-exports it)."""
    if "mcpkit_runtime.gateway" not in sys.modules or "mcp.server" in sys.modules:
        yield
        return
    stand_in = types.ModuleType("mcp.server.mcpserver")
    stand_in.MCPServer = _LoadedLater("MCPServer", (), {"real": "mcp.server.mcpserver.server"})  # type: ignore[attr-defined]
    sys.modules["mcp.server.mcpserver"] = stand_in
    try:
        yield
        import mcp.client.client  # noqa: F401 - now, with the stand-in
    finally:
        if sys.modules.get("mcp.server.mcpserver") is stand_in:
            del sys.modules["mcp.server.mcpserver"]
        package = sys.modules.get("mcp.server")
        if package is not None and vars(package).get("MCPServer") is stand_in.MCPServer:  # type: ignore[attr-defined]
            del package.MCPServer  # type: ignore[attr-defined]
            package.__getattr__ = _framework_on_first_use  # type: ignore[method-assign]


_server_without_the_client()

with (
    _models_built_when_first_used(),
    _adapters_and_rebuilds_when_first_used(),
    _annotations_compiled_once(),
    _uvicorn_left_for_http(),
    _framework_left_out(),
):
    from mcp.server.lowlevel import Server
    from mcp.server.stdio import stdio_server

SUPPORTED_SDK = ">=2.3,<2.4"  # the range these seams are tested with; pinned in pyproject.toml


def find_tool(server: MCPServer, name: object) -> Tool | None:
    """The registered tool called `name` (seam: MCPServer._tool_manager.get_tool)."""
    if not isinstance(name, str):
        return None
    return server._tool_manager.get_tool(name)


def validate_arguments(tool: Tool, arguments: dict[str, Any]) -> None:
    """Validate as the SDK will before calling the tool; raises pydantic's ValidationError
    (seam: Tool.fn_metadata.arg_model and FuncMetadata.pre_parse_json)."""
    metadata = tool.fn_metadata
    metadata.arg_model.model_validate(metadata.pre_parse_json(arguments))


def transport_session_id(session: object) -> str | None:
    """The transport's session id (streamable HTTP), None over stdio (seam: ServerSession._connection.session_id)."""
    value = getattr(connection_of(session), "session_id", None)
    return value if isinstance(value, str) else None


def connection_of(session: object) -> Any:
    """The client's connection a request's session belongs to (per request in SDK 2.x), which outlives it and
    carries notifications outside a request: `await connection.notify(method, params)` (seam:
    ServerSession._connection)."""
    return getattr(session, "_connection", None)


def open_http_sessions(server: Server[Any]) -> int:
    """Handshake-era streamable HTTP sessions open now (seam: StreamableHTTPSessionManager._server_instances)."""
    return len(server.session_manager._server_instances)


def live_http_session(server: Server[Any], session_id: str | None) -> Any:
    """The transport of the handshake-era HTTP session `session_id` when a request for it would be served by it
    as it is, with no credential of its own to check; else None: the session manager answers (an unknown or ended
    session, one bound to a credential, one idled out) (seam: StreamableHTTPSessionManager._server_instances and
    _session_owners, StreamableHTTPServerTransport.idle_scope)."""
    manager = server.session_manager
    transport = manager._server_instances.get(session_id) if session_id else None
    if transport is None or transport.is_terminated or session_id in manager._session_owners:
        return None
    idle = transport.idle_scope
    return None if idle is not None and idle.cancel_called else transport


@contextlib.contextmanager
def http_request_in_flight(transport: Any) -> Iterator[None]:
    """A request served for this session's transport, outside it: its idle countdown stops meanwhile and starts
    again once nothing is in flight, as the transport's own handle_request does (seam: idle_scope, _idle_timeout,
    _requests_in_flight)."""
    idle, timeout = transport.idle_scope, transport._idle_timeout
    if idle is None or timeout is None:
        yield
        return
    transport._requests_in_flight += 1
    idle.deadline = math.inf
    try:
        yield
    finally:
        transport._requests_in_flight -= 1
        if not transport._requests_in_flight:
            idle.deadline = anyio.current_time() + timeout


def run_on_the_loop(server: MCPServer, names: list[str]) -> None:
    """Run these registered synchronous tools on the event loop itself, not in a worker thread: for tools that
    return in a moment under bounds of their own, served to one client (stdio), the hop to a thread and back costs
    more than the work, above all in a container held to one CPU. While one runs, nothing else on the loop does:
    never for a tool that waits (seam: Tool.fn and Tool.is_async, which the SDK reads at each call)."""
    for name in names:
        tool = find_tool(server, name)
        if tool is None or tool.is_async:
            continue
        tool.fn = _on_the_loop(tool.fn)
        tool.is_async = True


def _on_the_loop(function: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(function)
    async def called(**kwargs: Any) -> Any:
        return function(**kwargs)

    return called


def request_stamp(session: object) -> Callable[[dict[str, Any], dict[str, Any]], None] | None:
    """How the client session marks an outgoing request for the protocol era it agreed (`stamp(data, options)`
    fills data's params and _meta in place), for a request the gateway writes to the wire itself; None before the
    handshake (seam: ClientSession._stamp)."""
    return getattr(session, "_stamp", None)


def progress_asked(ctx: Any) -> bool:
    """Whether the caller of this request asked for progress; True where that cannot be told (seam: the request's
    back channel, ServerSession._request_outbound, where report_progress goes: a JSON-RPC one holds the caller's
    token in _progress_token, an in-process one the caller's callback in _on_progress, the modern era wraps either
    in _inner)."""
    meta = ctx.meta
    if isinstance(meta, dict) and meta.get("progress_token") is not None:
        return True
    outbound: Any = getattr(ctx.session, "_request_outbound", None)
    while hasattr(outbound, "_inner"):
        outbound = outbound._inner
    if hasattr(outbound, "_progress_token"):
        return outbound._progress_token is not None
    return getattr(outbound, "_on_progress", True) is not None


def lowlevel(server: MCPServer | Server[Any]) -> Server[Any]:
    """The low-level server behind an MCPServer, which the transports run (seam: MCPServer._lowlevel_server)."""
    return server if isinstance(server, Server) else server._lowlevel_server


async def serve_stdio_streams(server: Server[Any], stdio: Any) -> None:
    """Serve over stdio through streams of our own: the line reader and writer `stdio` provides."""
    async with stdio_server(stdin=cast(Any, stdio), stdout=cast(Any, stdio)) as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())
