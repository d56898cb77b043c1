"""What `docker run -i` itself adds to a call: a trivial echo server (a line in, the line back) answered over a
native pipe and through the docker client's relay, in the analyst's image under its client entry's walls. The
difference is the relay's share of the container's cost per call, apart from anything the analyst does."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from typing import Any

ECHO = "import sys\nfor line in sys.stdin.buffer:\n    sys.stdout.buffer.write(line)\n    sys.stdout.buffer.flush()\n"
MESSAGE = b'{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"' + b"x" * 1200 + b'"}]}}\n'


def round_trips(command: list[str], env: dict[str, str] | None = None, calls: int = 400) -> list[float]:
    """Milliseconds per line echoed, after a first line that waits for the process to start."""
    process = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, bufsize=0, stderr=subprocess.DEVNULL
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdin.write(MESSAGE)
        process.stdout.readline()
        samples = []
        for _ in range(calls):
            started = time.perf_counter()
            process.stdin.write(MESSAGE)
            line = process.stdout.readline()
            samples.append((time.perf_counter() - started) * 1000)
            assert line == MESSAGE, line[:80]
        return samples
    finally:
        process.stdin.close()
        process.wait(timeout=30)


def relay(params: Any, calls: int = 400) -> dict[str, Any]:
    """p50/p99 of the echo natively (this Python) and in the image through `params` (a client entry's docker
    command line, its image's command replaced by the echo), interleaved twice."""
    args = list(params.args)
    image = args.pop()
    docker = [params.command, *args, "--entrypoint", "python", image, "-c", ECHO]
    env = {**os.environ, **(params.env or {})}
    found: dict[str, list[float]] = {"native pipe": [], "docker run -i": []}
    for _ in range(2):
        found["native pipe"] += round_trips([sys.executable, "-c", ECHO], calls=calls)
        found["docker run -i"] += round_trips(docker, env, calls)
    figures = {
        name: {
            "p50_ms": round(statistics.median(v), 3),
            "p99_ms": round(sorted(v)[int(len(v) * 0.99) - 1], 3),
        }
        for name, v in found.items()
    }
    figures["relay_p50_ms"] = round(figures["docker run -i"]["p50_ms"] - figures["native pipe"]["p50_ms"], 3)
    figures["load_average_1m"] = round(os.getloadavg()[0], 2)
    return figures
