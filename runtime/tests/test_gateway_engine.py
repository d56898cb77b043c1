"""The engine path's own part that needs no engine: the engine's multiplexed attach stream turned into the SDK's
messages. The stream's far end is a socket pair written in the engine's documented frame format (8-byte header:
stream, three zero bytes, big-endian length), since no engine exists in this tier; the real engine is exercised by
tests/integration/test_gateway.py."""

from __future__ import annotations

import socket
import struct
import tempfile

import anyio
import mcp_types as types
import pytest
from anyio.abc import UNIXSocketStream
from mcp.shared.message import SessionMessage

from mcpkit_runtime.gateway.engine import _Streams

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _frame(stream: int, payload: bytes) -> bytes:
    return struct.pack(">BxxxL", stream, len(payload)) + payload


async def test_frames_cut_anywhere_become_messages_and_stderr_lines_and_messages_go_out_as_lines() -> None:
    engine_end, gateway_end = socket.socketpair()
    reply = b'{"jsonrpc":"2.0","id":1,"result":{}}\n'
    note = b'{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}\n'
    wire = _frame(2, b"starting up\n") + _frame(1, reply[:9]) + _frame(1, reply[9:] + note[:20])
    wire += _frame(2, b"still here\n") + _frame(1, note[20:]) + _frame(1, b"not json\n")
    with tempfile.TemporaryFile() as errlog, engine_end:
        sock = await UNIXSocketStream.from_socket(gateway_end)
        streams = _Streams(sock, errlog.fileno(), early=wire[:5])
        async with sock, streams.open() as (read, write):
            for start in range(5, len(wire), 3):  # the header and a line cut across reads
                engine_end.sendall(wire[start : start + 3])
            received = [await read.receive() for _ in range(3)]
            request = types.JSONRPCRequest(jsonrpc="2.0", id=7, method="ping")
            await write.send(SessionMessage(request))
            sent = await anyio.to_thread.run_sync(engine_end.recv, 4096)
            engine_end.shutdown(socket.SHUT_WR)  # the engine ends the stream: the container is gone
        errlog.seek(0)
        assert errlog.read() == b"starting up\nstill here\n"
    assert [type(r) for r in received[:2]] == [SessionMessage, SessionMessage]
    assert received[0].message.id == 1 and received[1].message.method == "notifications/tools/list_changed"  # type: ignore[union-attr]
    assert isinstance(received[2], ValueError), "a line that is not JSON-RPC reaches the session as an error"
    assert sent == b'{"jsonrpc":"2.0","id":7,"method":"ping"}\n'
    assert streams.exited.is_set()
