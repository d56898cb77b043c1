"""A server's container started through the Docker engine's API, with no `docker` client process in between (one
per server cost 24.5 MiB and a copy of every message each way).

The container is created from the engine's create request the kit made with the Docker SDK (its walls, its
variables' values), attached before it starts (so no output is lost) and started; its stdin and multiplexed
stdout/stderr travel on the one attach socket, read and written by the event loop: no thread per message. stdout
lines become the JSON-RPC messages the SDK's `Client` takes as a transport (as its stdio client frames them);
stderr goes to the server's StderrTail. On close its stdin is closed (the server exits, and the engine removes it)
and, if it has not gone within the grace period, it is removed by force. A gateway that dies closes the socket,
which closes the server's stdin too (StdinOnce).

The four calls this takes (version, create, start, remove) are plain HTTP on the engine's local socket, made with
the standard library: the Docker SDK and what it imports (requests, urllib3 ...) cost the gateway 6 MiB for them.
Where the engine is not on a local socket (a Docker context, TCP, TLS or SSH, which the CLI handles), the same
container is started by its `docker run` command line.
"""

from __future__ import annotations

from mcpkit_runtime import sdk as _sdk  # noqa: F401 - first: the SDK loads through the seam (sdk.py)

# isort: split
import contextlib
import functools
import http.client
import json
import logging
import os
import socket
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
DEFAULT_SOCKET = "/var/run/docker.sock"
CALL_SECONDS = 60.0  # for one API call: a create waits on the storage driver
GRACE_SECONDS = 2.0  # for the server to exit once its stdin is closed, as the SDK's stdio client waits
Via = Literal["engine-api", "docker-cli"]
_probing = threading.Lock()  # servers start at once, each in a worker thread: one probe, one client


@dataclass(frozen=True)
class ContainerTarget:
    """A server's container: its image, the engine's create request for it (its walls, the values of the variables
    it takes; stdin open, no TTY, removed on exit), and the same container as a `docker run` line."""

    image: str
    body: dict[str, Any]  # `POST /containers/create`'s, as the Docker SDK makes it (kit.containers.engine)
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
    socket: str  # the engine's local socket
    version: str  # its API version


class EngineRefused(OSError):
    pass


def engine_api() -> Engine | None:
    """The engine's API over its local socket, or None where the API path is not available."""
    with _probing:
        return _engine()


@functools.cache
def _engine() -> Engine | None:
    if os.environ.get("DOCKER_CONTEXT", "default") != "default":
        return None  # the engine of a Docker context is the CLI's to find
    host = os.environ.get("DOCKER_HOST") or f"unix://{DEFAULT_SOCKET}"
    scheme, _, socket_path = host.partition("://")
    if scheme not in ("unix", "http+unix"):
        return None  # TCP, TLS or SSH: the CLI's connection handling
    try:
        version = str(_call(Engine(socket_path, ""), "GET", "/version")["ApiVersion"])
    except (OSError, KeyError, ValueError) as exc:  # no engine there: the CLI says why when it runs
        log.debug("the engine's API is not reachable (%s); containers start through the docker CLI", exc)
        return None
    return Engine(socket_path, version)


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, socket_path: str) -> None:
        super().__init__("docker", timeout=CALL_SECONDS)
        self._socket_path = socket_path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._socket_path)


def _call(engine: Engine, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """One request to the engine's API (a blocking call, run in a worker thread): its JSON answer, or None."""
    connection = _UnixConnection(engine.socket)
    try:
        prefix = f"/v{engine.version}" if engine.version else ""
        payload = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        connection.request(method, prefix + path, body=payload, headers=headers)
        answer = connection.getresponse()
        data = answer.read()
        if answer.status >= 400:
            message = (
                json.loads(data).get("message", "")
                if data.startswith(b"{")
                else data.decode(errors="replace")
            )
            raise EngineRefused(f"{method} {path}: {answer.status} {message}".strip())
        return json.loads(data) if data else None
    finally:
        connection.close()


def _create(engine: Engine, target: ContainerTarget) -> str:
    return str(_call(engine, "POST", "/containers/create", target.body)["Id"])


def _start(engine: Engine, container: str) -> None:
    _call(engine, "POST", f"/containers/{container}/start")


def _remove(engine: Engine, container: str) -> None:
    with contextlib.suppress(OSError):  # gone already, or being removed by the engine
        _call(engine, "DELETE", f"/containers/{container}?force=1")


async def _attach(engine: Engine, container: str) -> tuple[UNIXSocketStream, bytes]:
    """The attach request on a connection of the gateway's own, upgraded to the raw stream, and any bytes that
    came after the response's head. (The SDK's attach_socket hands back a socket its HTTP response still owns.)"""
    sock = await anyio.connect_unix(engine.socket)
    try:
        query = "stdin=1&stdout=1&stderr=1&stream=1"
        await sock.send(
            f"POST /v{engine.version}/containers/{container}/attach?{query} HTTP/1.1\r\nHost: docker\r\n"
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
    container = await anyio.to_thread.run_sync(_create, engine, target)
    try:
        sock, early = await _attach(engine, container)
        async with sock:
            await anyio.to_thread.run_sync(_start, engine, container)
            wire = _Streams(sock, errlog.fileno(), early)
            if raw is not None:
                raw(wire.raw)
            async with wire.open() as streams:
                yield streams
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(_remove, engine, container)


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
