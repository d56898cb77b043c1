"""A server's container started through the Docker engine's API, with no `docker` client process in between (one
per server cost 24.5 MiB and a copy of every message each way).

The container is created with the walls the kit gives (the Docker SDK's keywords), attached before it starts (so
no output is lost) and started; its stdin and multiplexed stdout/stderr travel on the one attach socket, read and
written by the event loop: no thread per message. stdout lines become the JSON-RPC messages the SDK's `Client`
takes as a transport (as its stdio client frames them); stderr goes to the server's StderrTail. On close its stdin
is closed (the server exits, and the engine removes it) and, if it has not gone within the grace period, it is
removed by force. A gateway that dies closes the socket, which closes the server's stdin too (StdinOnce).

The path needs the `docker` package and the engine's local socket. Where either is missing (a gateway image without
the package, a Docker context or an engine reached over TCP or SSH, which the SDK handles differently), the same
container is started by its `docker run` command line, as before.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import os
import struct
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, TextIO

import anyio
import mcp_types as types
from anyio.abc import SocketAttribute, UNIXSocketStream
from mcp import StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.message import SessionMessage

from mcpkit_runtime.gateway.raw import RawChannel

log = logging.getLogger(__name__)
STDOUT, STDERR = 1, 2  # the stream numbers of the engine's multiplexed output (docker.utils.socket's)
FRAME = struct.Struct(">BxxxL")  # stream, three zero bytes, payload length
GRACE_SECONDS = 2.0  # for the server to exit once its stdin is closed, as the SDK's stdio client waits
Via = Literal["engine-api", "docker-cli"]
_probing = threading.Lock()  # servers start at once, each in a worker thread: one probe, one client


@dataclass(frozen=True)
class ContainerTarget:
    """A server's container: its image, the Docker SDK keywords of its walls (`containers.create`'s, stdin open, no
    TTY, removed on exit), the values of the variables it takes, and the same container as a `docker run` line."""

    image: str
    create: dict[str, Any]
    env: dict[str, str]
    fallback: StdioServerParameters

    @contextlib.asynccontextmanager
    async def transport(
        self, errlog: TextIO, raw: Callable[[RawChannel], None] | None = None
    ) -> AsyncIterator[Any]:
        """The SDK's transport streams; on the engine's path `raw` is also given the wire's RawChannel (the `docker
        run` path has none: its calls all go through the SDK's session)."""
        engine = await anyio.to_thread.run_sync(engine_api)
        if engine is None:
            async with stdio_client(self.fallback, errlog=errlog) as streams:
                yield streams
            return
        async with _attached(engine, self, errlog, raw) as streams:
            yield streams


def path() -> Via | None:
    """How containers are started in this process: None until the first has been."""
    if _engine.cache_info().currsize == 0:
        return None
    return "engine-api" if _engine() is not None else "docker-cli"


class Engine(NamedTuple):
    api: Any  # docker.APIClient: create, start, remove
    socket: str  # the engine's local socket, where the gateway attaches on a connection of its own


def engine_api() -> Engine | None:
    """The engine's API over its local socket, or None where the API path is not available."""
    with _probing:
        return _engine()


@functools.cache
def _engine() -> Engine | None:
    if os.environ.get("DOCKER_CONTEXT", "default") != "default":
        return None  # the SDK does not read Docker contexts; the CLI does
    try:
        import docker
        from docker.constants import DEFAULT_UNIX_SOCKET, MINIMUM_DOCKER_API_VERSION
    except ImportError:
        return None
    settings = docker.utils.kwargs_from_env()
    socket = (
        str(settings.get("base_url") or DEFAULT_UNIX_SOCKET).removeprefix("http+").removeprefix("unix://")
    )
    if settings.get("base_url", "unix://").split("://")[0] not in ("unix", "http+unix"):
        return None  # TCP, TLS or SSH: the CLI's connection handling
    # The engine's version asked with a client closed here: one made with version="auto" leaks its socket when
    # the engine is down.
    probe = docker.APIClient(version=MINIMUM_DOCKER_API_VERSION, **settings)
    try:
        version = str(probe.version(api_version=False)["ApiVersion"])
    except Exception as exc:  # no engine there: the CLI says why when it runs
        log.debug("the engine's API is not reachable (%s); containers start through the docker CLI", exc)
        return None
    finally:
        probe.close()
    return Engine(docker.APIClient(version=version, **settings), socket)


def _split(api: Any, kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """`containers.create` keywords as the low-level API takes them: the container's and its host config's."""
    from docker.types import HostConfig

    host_keys = set(inspect.signature(HostConfig).parameters) - {"version"}
    host = {k: v for k, v in kwargs.items() if k in host_keys}
    return {k: v for k, v in kwargs.items() if k not in host_keys}, api.create_host_config(**host)


def _create(api: Any, target: ContainerTarget) -> str:
    config, host_config = _split(api, target.create)
    # Attached (not detached) with stdin open, the SDK sets StdinOnce: the server's stdin ends with the socket.
    config |= {"stdin_open": True, "tty": False, "detach": False}
    created = api.create_container(
        target.image, environment=dict(target.env), host_config=host_config, **config
    )
    return str(created["Id"])


def _remove(api: Any, container: str) -> None:
    import docker

    with contextlib.suppress(docker.errors.APIError):  # gone already, or being removed by the engine
        api.remove_container(container, force=True)


async def _attach(engine: Engine, container: str) -> tuple[UNIXSocketStream, bytes]:
    """The attach request on a connection of the gateway's own, upgraded to the raw stream, and any bytes that
    came after the response's head. (The SDK's attach_socket hands back a socket its HTTP response still owns.)"""
    sock = await anyio.connect_unix(engine.socket)
    try:
        query = "stdin=1&stdout=1&stderr=1&stream=1"
        await sock.send(
            f"POST /v{engine.api.api_version}/containers/{container}/attach?{query} HTTP/1.1\r\nHost: docker\r\n"
            "Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n".encode()
        )
        received = b""
        while b"\r\n\r\n" not in received and len(received) < 65536:
            received += await sock.receive(4096)
        head, _, rest = received.partition(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0].decode(errors="replace")
        if status.split(" ")[1:2] not in (["101"], ["200"]):
            raise OSError(f"the engine would not attach to the container: {status}")
    except BaseException:
        await sock.aclose()
        raise
    return sock, rest


@contextlib.asynccontextmanager
async def _attached(
    engine: Engine, target: ContainerTarget, errlog: TextIO, raw: Callable[[RawChannel], None] | None = None
) -> AsyncIterator[Any]:
    container = await anyio.to_thread.run_sync(_create, engine.api, target)
    try:
        sock, early = await _attach(engine, container)
        async with sock:
            await anyio.to_thread.run_sync(engine.api.start, container)
            wire = _Streams(sock, errlog.fileno(), early)
            if raw is not None:
                raw(wire.raw)
            async with wire.open() as streams:
                yield streams
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(_remove, engine.api, container)


class _Streams:
    """The SDK's transport streams over one attach socket, and the gateway's RawChannel on the same wire (its
    answers are taken off before a line is parsed for the SDK)."""

    def __init__(self, sock: UNIXSocketStream, errlog: int, early: bytes = b"") -> None:
        self.sock = sock
        self.errlog = errlog
        self.early = early
        self.exited = anyio.Event()  # the engine closed the output: the container is gone
        self.reader, self.read_stream = anyio.create_memory_object_stream[SessionMessage | Exception](0)
        self.write_stream, self.writer = anyio.create_memory_object_stream[SessionMessage](0)
        self._sending = anyio.Lock(fast_acquire=True)  # one line at a time on the socket, whoever writes it
        self._socket = sock.extra(SocketAttribute.raw_socket)  # non-blocking, as the stream keeps it
        self.raw = RawChannel(self._send_line)

    async def _send_line(self, line: bytes) -> None:
        """One line, whole, before the next: written straight to the socket when it takes it all (no pass of the
        event loop, which the stream's own send makes first), the rest by the stream."""
        async with self._sending:
            try:
                sent = self._socket.send(line)
            except BlockingIOError:
                sent = 0
            except OSError as exc:
                raise anyio.BrokenResourceError from exc
            if sent < len(line):
                await self.sock.send(line[sent:])

    @contextlib.asynccontextmanager
    async def open(self) -> AsyncIterator[Any]:
        async with anyio.create_task_group() as group:
            group.start_soon(self._read)
            group.start_soon(self._write)
            try:
                yield self.read_stream, self.write_stream
            finally:
                with anyio.CancelScope(shield=True):
                    await self._close()
                group.cancel_scope.cancel()

    async def _close(self) -> None:
        self.read_stream.close()
        self.write_stream.close()
        with contextlib.suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
            await self.sock.send_eof()  # the server's stdin ends: it exits, and the engine removes it
        with anyio.move_on_after(GRACE_SECONDS):
            await self.exited.wait()

    async def _read(self) -> None:
        """Frames off the socket: stdout's lines as messages, stderr to the tail, until the engine closes it. After
        the session has gone it reads on, so the server is never blocked on a full buffer while it exits."""
        pending = bytearray(self.early)
        partial = b""
        delivering = True
        try:
            while True:
                while len(pending) >= FRAME.size:
                    stream, size = FRAME.unpack_from(pending)
                    if len(pending) < FRAME.size + size:
                        break
                    payload = bytes(pending[FRAME.size : FRAME.size + size])
                    del pending[: FRAME.size + size]
                    if stream == STDERR:
                        os.write(self.errlog, payload)
                        continue
                    lines = (partial + payload).split(b"\n")
                    partial = lines.pop()
                    for line in lines:
                        if self.raw.take(line):
                            continue
                        if delivering and line.strip():
                            try:
                                await self.reader.send(_parsed(line))
                            except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                                delivering = False
                try:
                    pending += await self.sock.receive(65536)
                except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
                    return
        finally:
            self.exited.set()
            self.raw.close()
            self.reader.close()

    async def _write(self) -> None:
        try:
            async with self.writer:
                async for message in self.writer:
                    text = message.message.model_dump_json(by_alias=True, exclude_unset=True)
                    await self._send_line(text.encode() + b"\n")
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            self.raw.close()
            self.reader.close()


def _parsed(line: bytes) -> SessionMessage | Exception:
    """One stdout line, a parse error returned as a value for the session to surface (as the SDK's stdio does)."""
    try:
        return SessionMessage(types.jsonrpc_message_adapter.validate_json(line, by_name=False))
    except ValueError as exc:
        return exc
