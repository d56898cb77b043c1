"""Serving over stdio with the protocol's error answers for what the SDK drops silently, and a size limit.

The model's client is not the only thing that can write to a server's stdin; what arrives is treated as hostile:
- a line over MCP_MAX_MESSAGE_BYTES (default 4 MiB) is refused without being held: Invalid Request (-32600);
- a line that is not JSON gets JSON-RPC's Parse error (-32700), with id null;
- JSON that is not a JSON-RPC message gets Invalid Request (-32600), with its id when it has a usable one.
Everything else goes to the SDK as before. The server keeps serving after each.

Pipes and sockets (what clients and `docker run -i` give) are read and written by the event loop itself, without a
thread hop per message; anything else (a terminal, a file) through a worker thread, as the SDK does. The audit's
stderr lines are held while serving and written after the answer they belong to (mcpkit_runtime.audit).

When stdin ends, the client is gone (it closed the pipe, or it was killed): whatever is still running has nobody to
answer to, so the process exits after a short grace, and its container with it (clients start it with --rm). The
hang-up is watched by a thread of its own, not only by the loop's reader: a tool that runs on the event loop (a quick
read, bounded by its time limit) holds the loop while it runs, and the exit must not wait for it.
"""

from __future__ import annotations

import asyncio
import json
import os
import select
import stat
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, BinaryIO

import anyio
import mcp_types
from mcp.server.lowlevel import Server

from mcpkit_runtime import sdk
from mcpkit_runtime.audit import StderrLines, stderr_lines

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer  # the gateway serves a low-level Server and never loads it

DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024
EXIT_GRACE_SECONDS = 2.0
_CHUNK = 64 * 1024


def max_message_bytes(environ: dict[str, str] | None = None) -> int:
    value = (environ if environ is not None else os.environ).get("MCP_MAX_MESSAGE_BYTES", "")
    return int(value) if value.isdigit() and int(value) > 0 else DEFAULT_MAX_MESSAGE_BYTES


class GuardedStdio:
    """The two ends of the pipe as the SDK's stdio transport reads and writes them (async text lines), with the
    checks above in between. Writes from the SDK and from the guard never interleave."""

    def __init__(self, stdin: BinaryIO, stdout: BinaryIO, limit: int) -> None:
        self._stdin = stdin
        self._stdout = stdout
        self._limit = limit
        self._lock = threading.Lock()
        self._loop_lock = anyio.Lock(fast_acquire=True)  # free, it is taken without a pass of the loop
        self._read_fd = _pollable(stdin)
        self._write_fd = _pollable(stdout, apart_from=sys.stderr)

    def watch_hang_up(self) -> None:
        """Exit soon after the client hangs up, even while the loop is busy (a pipe or socket; a terminal or a file
        ends only through the reader)."""
        if self._read_fd is not None:
            _watch_hang_up(self._read_fd)

    async def __aiter__(self) -> AsyncIterator[str]:  # what the SDK iterates: one message per line
        with stderr_lines.held(_on_the_loop_soon(stderr_lines.release)):
            lines = self._polled_lines() if self._read_fd is not None else self._threaded_lines()
            async for line, oversized in lines:
                if oversized:
                    await self._answer(
                        None,
                        -32600,
                        f"message refused: larger than {self._limit} bytes (MCP_MAX_MESSAGE_BYTES)",
                    )
                    continue
                if not line:
                    _exit_soon()
                    return
                text = line.decode("utf-8", errors="replace")
                if not text.strip():
                    continue
                refusal = _refusal(text)
                if refusal is None:
                    yield text
                else:
                    await self._answer(*refusal)

    async def _threaded_lines(self) -> AsyncIterator[tuple[bytes, bool]]:
        while True:
            yield await anyio.to_thread.run_sync(self._read_line)

    async def _polled_lines(self) -> AsyncIterator[tuple[bytes, bool]]:
        """As _read_line gives them, read by the loop: what is over the limit is dropped as it arrives, never held."""
        fd = self._read_fd
        assert fd is not None
        os.set_blocking(fd, False)
        pending, dropping = bytearray(), False
        while True:
            end = pending.find(b"\n")
            if end >= 0:
                line = bytes(pending[: end + 1])
                del pending[: end + 1]
                yield (b"", True) if dropping or len(line) > self._limit + 1 else (line, False)
                dropping = False
                continue
            if len(pending) > self._limit:
                pending.clear()
                dropping = True
            try:
                chunk = os.read(fd, _CHUNK)
            except BlockingIOError:
                await anyio.wait_readable(fd)
                continue
            if not chunk:  # end of input: a last line without its newline still counts, as readline gives it
                if dropping or pending:
                    yield (b"", True) if dropping else (bytes(pending), False)
                # A request sent just before the end gets the moment it had when the end was read in a thread.
                await anyio.to_thread.run_sync(_nothing)
                yield b"", False
                return
            pending += chunk

    async def write(self, text: str) -> None:  # what the SDK calls for each message it sends
        fd = self._write_fd
        if fd is None:
            await anyio.to_thread.run_sync(self._write, text)
            return
        data = memoryview(text.encode("utf-8"))
        async with self._loop_lock:  # a message is written whole before the next starts
            while data:
                try:
                    data = data[os.write(fd, data) :]
                except BlockingIOError:
                    await anyio.wait_writable(fd)
        stderr_lines.release()

    async def flush(self) -> None:
        pass  # every write is flushed whole

    def _read_line(self) -> tuple[bytes, bool]:
        """A whole line, or (b"", True) for one over the limit, read and dropped a chunk at a time."""
        line = self._stdin.readline(self._limit + 1)
        if len(line) <= self._limit or line.endswith(b"\n"):
            return line, False
        while line and not line.endswith(b"\n"):
            line = self._stdin.readline(_CHUNK)
        return b"", True

    def _write(self, text: str) -> None:
        with self._lock:
            self._stdout.write(text.encode("utf-8"))
            self._stdout.flush()
        stderr_lines.release()

    async def _answer(self, request_id: Any, code: int, message: str) -> None:
        error = {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}
        await self.write(json.dumps(error) + "\n")


def _nothing() -> None:
    pass


def _on_the_loop_soon(action: Callable[[], None]) -> Callable[[], None]:
    """Something that runs `action` on this loop a moment later, called from the loop or from a worker thread."""
    loop = asyncio.get_running_loop()
    loop_thread = threading.get_ident()

    def soon() -> None:
        if threading.get_ident() == loop_thread:
            loop.call_later(StderrLines.LATEST_SECONDS, action)
            return
        try:
            loop.call_soon_threadsafe(loop.call_later, StderrLines.LATEST_SECONDS, action)
        except RuntimeError:  # the loop has ended
            action()

    return soon


def _pollable(stream: BinaryIO, apart_from: object = None) -> int | None:
    """The descriptor of a pipe or socket the loop can wait on, unless it is the same pipe as `apart_from` (stderr
    on the same pipe would turn non-blocking with it)."""
    try:
        fd = stream.fileno()
        status = os.fstat(fd)
        if apart_from is not None and os.path.samestat(status, os.fstat(apart_from.fileno())):  # type: ignore[attr-defined]
            return None
    except (AttributeError, OSError, ValueError):
        return None
    return fd if stat.S_ISFIFO(status.st_mode) or stat.S_ISSOCK(status.st_mode) else None


_leaving = threading.Event()


def _exit_soon(grace: float = EXIT_GRACE_SECONDS) -> None:
    """Exit the whole process after `grace` seconds, whatever is still running (a long query on a worker thread or
    on the loop). The first call counts; later ones change nothing."""
    if _leaving.is_set():
        return
    _leaving.set()

    def leave() -> None:
        time.sleep(grace)
        stderr_lines.release()
        sys.stderr.flush()
        os._exit(0)

    threading.Thread(target=leave, name="mcpkit-stdin-closed", daemon=True).start()


def _watch_hang_up(fd: int) -> None:
    """Exit soon once the writing end of the pipe `fd` is closed, seen by a thread that only waits for it: a poll
    for no event wakes on hang-up alone (POLLHUP; POLLRDHUP for a socket shut for writing), never for data, so this
    costs nothing per message."""
    watched = select.poll()
    watched.register(fd, getattr(select, "POLLRDHUP", 0))

    def watch() -> None:
        while True:
            try:
                if watched.poll():
                    break
            except InterruptedError:
                continue
        _exit_soon()

    threading.Thread(target=watch, name="mcpkit-stdin-watch", daemon=True).start()


def _refusal(text: str) -> tuple[Any, int, str] | None:
    try:  # what the SDK accepts, parsed the way it parses (the common case: one parse here, one there)
        mcp_types.jsonrpc_message_adapter.validate_json(text, by_name=False)
        return None
    except ValueError:
        pass
    try:
        document = json.loads(text)
    except ValueError:
        return None, -32700, "Parse error: the message is not JSON"
    request_id = document.get("id") if isinstance(document, dict) else None
    usable = request_id if isinstance(request_id, str | int) and not isinstance(request_id, bool) else None
    return usable, -32600, "Invalid Request: not a JSON-RPC 2.0 message this server understands"


def serve(server: MCPServer | Server[Any], front: Callable[[GuardedStdio], Any] | None = None) -> None:
    """Serve `server` over this process's stdin and stdout, guarded. Stray prints go to stderr meanwhile (fd 1 is
    pointed at it), so nothing but the protocol reaches the client. `front`: what the SDK reads and writes instead,
    made from the guarded stdio (the gateway answers its hot calls there: gateway.front)."""
    wire_in = os.fdopen(os.dup(0), "rb")
    wire_out = os.fdopen(os.dup(1), "wb")
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    stdio = GuardedStdio(wire_in, wire_out, max_message_bytes())
    stdio.watch_hang_up()
    anyio.run(sdk.serve_stdio_streams, sdk.lowlevel(server), front(stdio) if front else stdio)
