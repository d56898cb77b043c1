"""The guarded stdio transport, in a real subprocess: what the SDK would drop silently gets the protocol's error,
an oversized message is refused without being held, and the server keeps serving."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

import anyio

from mcpkit_runtime.audit import StderrLines, stderr_lines
from mcpkit_runtime.stdio import GuardedStdio

SERVER = """
from mcpkit_runtime import stdio
from mcpkit_runtime.server import Runtime
server = Runtime("probe", "1.0").create_server()
@server.tool()
def echo(text: str) -> str:
    print("a stray print while serving goes to stderr, never into the protocol")
    return text
stdio.serve(server)
"""
INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}}  # fmt: skip


def _exchange(
    lines: list[str], answered: set[object], environ: dict[str, str] | None = None
) -> list[dict[str, object]]:
    """Send the lines, read answers until the requests `answered` names have theirs, then hang up."""
    waiting = set(answered)
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        text=True, env={**os.environ, **(environ or {})},
    )  # fmt: skip
    assert process.stdin and process.stdout
    process.stdin.write("".join(line + "\n" for line in lines))
    process.stdin.flush()
    answers: list[dict[str, object]] = []

    def answered_all(raw: str) -> bool:
        answers.append(json.loads(raw))
        waiting.discard(answers[-1].get("id"))
        return not waiting

    _read_until(process, answered_all)
    return answers


def _read_until(process: subprocess.Popen[str], enough: Callable[[str], bool]) -> None:
    """Read the server's lines until `enough` says so, then hang up; a hang fails the test instead of stalling it."""
    assert process.stdin and process.stdout
    timer = threading.Timer(60, process.kill)
    timer.start()
    try:
        for raw in process.stdout:
            if enough(raw):
                break
    finally:
        timer.cancel()
        process.stdin.close()
        process.wait(timeout=30)
        process.stdout.close()


def test_malformed_messages_get_the_protocols_errors_and_the_server_keeps_serving() -> None:
    answers = _exchange(
        [
            json.dumps(INITIALIZE),
            "{not json",
            "[1, 2]",
            '{"jsonrpc": "2.0", "id": "x", "methd": "ping"}',
            "",
            '{"jsonrpc": "2.0", "id": 8, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": "hi"}}}',
            '{"jsonrpc": "2.0", "id": 9, "method": "ping"}',
        ],
        answered={1, 8, 9},
    )
    errors = [(a["id"], a["error"]["code"]) for a in answers if "error" in a]
    assert sorted(errors, key=str) == sorted([(None, -32700), (None, -32600), ("x", -32600)], key=str)
    assert {"jsonrpc": "2.0", "id": 9, "result": {}} in answers, "still serving"
    assert next(a for a in answers if a["id"] == 8)["result"]["structuredContent"] == {"result": "hi"}, (
        "a stray print"
    )


def test_an_oversized_message_is_refused_with_the_documented_limit() -> None:
    big = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "echo", "arguments": {"text": "x" * 5000}},
        }
    )
    answers = _exchange([json.dumps(INITIALIZE), big, '{"jsonrpc": "2.0", "id": 3, "method": "ping"}'],
                        answered={1, 3}, environ={"MCP_MAX_MESSAGE_BYTES": "1000"})  # fmt: skip
    refused = next(a for a in answers if "error" in a)
    assert (
        refused["error"]["code"] == -32600
        and "larger than 1000 bytes (MCP_MAX_MESSAGE_BYTES)" in refused["error"]["message"]
    )
    assert {"jsonrpc": "2.0", "id": 3, "result": {}} in answers


def test_a_line_split_across_reads_and_a_last_line_without_newline_are_served() -> None:
    """The loop reads pipes in chunks: a message arriving in pieces is one message, and one cut short by the end
    of input is still read (as a blocking readline would)."""
    ping = '{"jsonrpc": "2.0", "id": 5, "method": "ping"}'
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdin and process.stdout
    process.stdin.write((json.dumps(INITIALIZE) + "\n").encode())
    process.stdin.flush()
    assert json.loads(process.stdout.readline())["id"] == 1
    for piece in (ping[:10], ping[10:30], ping[30:] + "\n", '{"jsonrpc": "2.0", "id": 6, "method": "ping"}'):
        process.stdin.write(piece.encode())
        process.stdin.flush()
    process.stdin.close()
    answers = [json.loads(line) for line in process.stdout]
    process.wait(timeout=30)
    process.stdout.close()
    assert [a["id"] for a in answers] == [5, 6]


BUSY_LOOP_SERVER = """
import sys, time
from mcpkit_runtime import sdk, stdio
from mcpkit_runtime.server import Runtime
server = Runtime("probe", "1.0").create_server()
@server.tool()
def busy() -> str:
    sys.stderr.write("busy: started\\n")
    sys.stderr.flush()
    time.sleep(300)
    return "done"
sdk.run_on_the_loop(server, ["busy"])
stdio.serve(server)
"""


def test_a_client_that_hangs_up_while_a_tool_holds_the_loop_ends_the_process() -> None:
    """The loop's reader cannot see the end of input while a tool runs on the loop; the hang-up watcher does."""
    process = subprocess.Popen(
        [sys.executable, "-c", BUSY_LOOP_SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    assert process.stdin and process.stdout and process.stderr
    process.stdin.write((json.dumps(INITIALIZE) + "\n").encode())
    process.stdin.flush()
    assert json.loads(process.stdout.readline())["id"] == 1
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "busy", "arguments": {}}}
    process.stdin.write((json.dumps(call) + "\n").encode())
    process.stdin.flush()
    try:
        for line in process.stderr:
            if b"busy: started" in line:
                break  # the loop is held from here on
        process.stdin.close()
        assert process.wait(timeout=60) == 0, "the process exits after the hang-up, not when the tool ends"
    finally:
        process.kill()
        process.wait()
        process.stdout.close()
        process.stderr.close()


def test_a_calls_audit_line_follows_its_answer_on_the_wire() -> None:
    """Stdout and stderr on one pipe show the order the server writes them in: the answer first (a client behind
    docker's relay gets it without waiting for the audit line), then the call's audit line."""
    call = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": "echo", "arguments": {"text": "x"}},
    }
    held_long = (
        "from mcpkit_runtime.audit import StderrLines\nStderrLines.LATEST_SECONDS = 60\n"  # no fallback
    )
    process = subprocess.Popen(
        [sys.executable, "-c", held_long + SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert process.stdin and process.stdout
    process.stdin.write(json.dumps(INITIALIZE) + "\n")
    process.stdin.flush()
    assert json.loads(process.stdout.readline())["id"] == 1
    process.stdin.write(json.dumps(call) + "\n")  # one call at a time, as a client waits for the handshake
    process.stdin.flush()
    order = []

    def both_seen(line: str) -> bool:
        if line.startswith('{"jsonrpc":"2.0","id":2,'):
            order.append("answer")
        elif '"event": "tool_call"' in line:
            order.append("audit")
        return len(order) == 2

    _read_until(process, both_seen)
    assert order == ["answer", "audit"]


def test_held_audit_lines_are_written_after_the_next_answer_or_a_moment_later(capsys: Any) -> None:
    async def serve_one() -> None:
        into, feed = os.pipe()
        answers, out = os.pipe()
        reading, writing = os.fdopen(into, "rb"), os.fdopen(out, "wb")
        stdio = GuardedStdio(reading, writing, 1000)
        os.write(feed, b'{"jsonrpc": "2.0", "id": 1, "method": "ping"}\n')
        messages = stdio.__aiter__()
        await messages.__anext__()  # serving: lines are held from here
        stderr_lines.write("audited\n")
        assert capsys.readouterr().err == ""
        await stdio.write('{"jsonrpc": "2.0", "id": 1, "result": {}}\n')
        assert capsys.readouterr().err == "audited\n"
        assert os.read(answers, 1000) == b'{"jsonrpc": "2.0", "id": 1, "result": {}}\n'
        stderr_lines.write("cancelled, never answered\n")
        await anyio.sleep(StderrLines.LATEST_SECONDS * 4)
        assert capsys.readouterr().err == "cancelled, never answered\n"
        await messages.aclose()  # not serving: written at once again
        stderr_lines.write("after\n")
        assert capsys.readouterr().err == "after\n"
        for end in (reading, writing):
            end.close()
        os.close(feed)
        os.close(answers)

    anyio.run(serve_one)
