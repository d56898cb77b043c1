"""Hostile protocol input, through each server's generated entry: ten thousand malformed, truncated, oversized and
out-of-order JSON-RPC messages. Errors where JSON-RPC says so, and the server keeps serving: zero crashes, zero
hangs (a probe after every batch must be answered)."""

from __future__ import annotations

import json
import os
import queue
import random
import subprocess
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import docker
import pytest

from kit.identity import SERVER
from kit.image.builder import BuildResult

MESSAGES = 10_000
BATCH = 250
OVERSIZED = 5 * 1024 * 1024  # over the documented 4 MiB (MCP_MAX_MESSAGE_BYTES)
INITIALIZE = {"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": {
    "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "fuzz", "version": "0"}}}  # fmt: skip
METHODS = ["tools/call", "tools/list", "resources/read", "resources/list", "prompts/get", "completion/complete",
           "logging/setLevel", "initialize", "ping", "notifications/cancelled", "notifications/initialized"]  # fmt: skip


class Peer:
    """The server through its entry, its answers gathered by a reader thread."""

    def __init__(self, entry: dict[str, Any]) -> None:
        self.process = subprocess.Popen(
            [entry["command"], *entry["args"]], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env={**os.environ, **entry.get("env", {})},
        )  # fmt: skip
        self.answers: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.answers.put(
                json.loads(line)
            )  # anything not JSON on stdout fails here, and the probe times out

    def send(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text.encode("utf-8", errors="surrogatepass") + b"\n")
        self.process.stdin.flush()

    def wait_for(self, request_id: str, seen: list[dict[str, Any]], timeout: float = 30) -> dict[str, Any]:
        while True:
            answer = self.answers.get(timeout=timeout)  # queue.Empty: the server hung
            seen.append(answer)
            if answer.get("id") == request_id:
                return answer

    def close(self) -> int:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.close()
        code = self.process.wait(timeout=30)
        self.process.stdout.close()
        return code


def _messages(rng: random.Random, tools: list[str]) -> list[tuple[str, str]]:
    """(kind, text): what is expected of each kind is checked on the answers."""
    out: list[tuple[str, str]] = []
    valid = json.dumps(
        {"jsonrpc": "2.0", "id": "v", "method": "tools/call", "params": {"name": tools[0], "arguments": {}}}
    )
    for index in range(MESSAGES):
        roll = rng.random()
        request_id = f"f{index}"
        if roll < 0.15:
            out.append(
                (
                    "parse",
                    valid[: rng.randrange(1, len(valid) - 1)] + rng.choice(["", "}", "]]", "\x00", "\\"]),
                )
            )
        elif roll < 0.22:
            out.append(
                ("parse", "".join(chr(rng.randrange(32, 0x2FFF)) for _ in range(rng.randrange(1, 60))))
            )
        elif roll < 0.32:
            out.append(("invalid", json.dumps(rng.choice([
                [1, 2], 42, "text", None, True, {}, {"jsonrpc": "1.0", "id": request_id, "method": "ping"},
                {"jsonrpc": "2.0", "id": {"nested": 1}, "method": "ping"}, {"jsonrpc": "2.0", "id": [1], "method": "ping"},
                {"jsonrpc": "2.0", "id": request_id}, {"jsonrpc": "2.0", "method": 7, "id": request_id},
            ]))))  # fmt: skip
        elif roll < 0.45:
            out.append(
                (
                    "unknown",
                    json.dumps({"jsonrpc": "2.0", "id": request_id, "method": f"x/{rng.randrange(10**6)}"}),
                )
            )
        elif roll < 0.75:
            params = rng.choice([None, [], "s", 3, {"name": rng.choice([*tools, "nope", "", 5])},
                                 {"name": rng.choice(tools), "arguments": _junk(rng, 3)}, _junk(rng, 3)])  # fmt: skip
            message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": rng.choice(METHODS)}
            if params is not None:
                message["params"] = params
            out.append(("request", json.dumps(message)))
        elif roll < 0.9:  # out of order: answers nobody asked for, notifications with junk
            out.append(("stray", json.dumps(rng.choice([
                {"jsonrpc": "2.0", "id": request_id, "result": _junk(rng, 2)},
                {"jsonrpc": "2.0", "id": request_id, "error": {"code": -1, "message": "x"}},
                {"jsonrpc": "2.0", "method": rng.choice(METHODS), "params": _junk(rng, 2)},
                {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": f"f{rng.randrange(index + 1)}"}},
            ]))))  # fmt: skip
        else:
            out.append(("request", json.dumps({"jsonrpc": "2.0", "id": request_id, "method": "ping"})))
    for position in rng.sample(range(len(out)), 3):
        out[position] = (
            "oversized",
            json.dumps({"jsonrpc": "2.0", "id": "big", "method": "ping", "pad": "x" * OVERSIZED}),
        )
    return [(_reclassified(kind, text), text) for kind, text in out]


def _reclassified(kind: str, text: str) -> str:
    """A truncation can still be JSON by chance: then it is no parse error, and nothing is expected of it."""
    if kind != "parse":
        return kind
    try:
        json.loads(text)
    except ValueError:
        return "parse"
    return "other"


def _junk(rng: random.Random, depth: int) -> Any:
    if depth == 0 or rng.random() < 0.4:
        return rng.choice([None, True, -1, 2**70, 3.25, "", "é" * rng.randrange(5), "' OR 1=1 --", "\u202e"])
    if rng.random() < 0.5:
        return [_junk(rng, depth - 1) for _ in range(rng.randrange(4))]
    return {
        rng.choice(["query", "to", "body", "a", "", "name"]): _junk(rng, depth - 1)
        for _ in range(rng.randrange(4))
    }


@pytest.mark.parametrize(
    ("name", "tools"), [("analyst", ["run_sql", "explain_sql", "job_status"]), ("mailer", ["send_email"])]
)
def test_ten_thousand_hostile_messages_get_protocol_errors_and_the_server_keeps_serving(
    server_images: list[BuildResult], kit_config: Callable[..., dict[str, dict[str, Any]]],
    docker_client: docker.DockerClient, name: str, tools: list[str],
) -> None:  # fmt: skip
    peer = Peer(kit_config(name)[name])
    seen: list[dict[str, Any]] = []
    sent: Counter[str] = Counter()
    try:
        peer.send(json.dumps(INITIALIZE))
        assert "result" in peer.wait_for("init", seen)
        peer.send(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        messages = _messages(random.Random(f"fuzz-{name}"), tools)
        for start in range(0, len(messages), BATCH):
            for kind, text in messages[start : start + BATCH]:
                peer.send(text)
                sent[kind] += 1
            probe = f"probe-{start}"
            peer.send(json.dumps({"jsonrpc": "2.0", "id": probe, "method": "ping"}))
            assert peer.wait_for(probe, seen) == {"jsonrpc": "2.0", "id": probe, "result": {}}, (
                "a probe went unanswered"
            )
        peer.send(json.dumps({"jsonrpc": "2.0", "id": "last", "method": "tools/list"}))
        assert {t["name"] for t in peer.wait_for("last", seen)["result"]["tools"]} >= set(tools)
        assert [
            c.status
            for c in docker_client.containers.list(
                ignore_removed=True,
                filters={"label": [f"{SERVER}={name}", *os.environ["KIT_LABELS"].split(",")]},
            )
        ] == ["running"]
    finally:
        code = peer.close()
    assert code == 0, "the server did not end cleanly when its client hung up"
    codes = Counter(a["error"]["code"] for a in seen if "error" in a)
    assert sum(sent.values()) >= MESSAGES
    assert codes[-32700] == sent["parse"], "every line that is not JSON gets a Parse error"
    assert codes[-32600] >= sent["invalid"] + sent["oversized"], (
        "every non-message and every oversized one: Invalid Request"
    )
    assert codes[-32601] >= sent["unknown"], "every unknown method: Method not found"
    oversized = [a for a in seen if "error" in a and "MCP_MAX_MESSAGE_BYTES" in a["error"]["message"]]
    assert len(oversized) == sent["oversized"]
