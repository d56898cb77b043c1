"""A gateway's plan handed over: the process that made it becomes the runtime's gateway (same pid) and serves it.
The server behind it is a plain command over stdio, since no engine exists in this tier (the engine's path is
tests/integration/test_gateway.py's)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from mcpkit_runtime.gateway.plan import FrontPlan, GatewayPlan, ServerPlan
from mcpkit_runtime.gateway.settings import GatewaySettings

pytestmark = pytest.mark.anyio

SEAM_FIRST = (
    "import importlib, sys\n"
    "name = sys.argv[1]\n"
    "importlib.import_module(name)\n"
    "if 'mcp_types' in sys.modules:\n"
    "    assert 'mcpkit_runtime.sdk' in sys.modules, 'the SDK without its seam'\n"
    "    assert not sys.modules['mcp_types'].Tool.__pydantic_complete__, 'models built at import'\n"
    "    assert name.rsplit('.', 1)[1] not in ('plan', 'settings'), 'planning loads the SDK'\n"
)

HAND_OVER = (
    "import os, sys\n"
    "from mcpkit_runtime.gateway.plan import GatewayPlan, hand_over\n"
    "print(f'planner pid {os.getpid()}', file=sys.stderr, flush=True)\n"
    "os.chdir(sys.argv[2]) if len(sys.argv) > 2 else None\n"
    "hand_over(GatewayPlan.model_validate_json(sys.argv[1]))\n"
)
ECHO = (
    "from mcp.server.mcpserver import MCPServer\n"
    "server = MCPServer('echo')\n"
    "@server.tool()\n"
    "def echo(text: str) -> str:\n"
    "    return text\n"
    "server.run()\n"
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _plan(**front: object) -> GatewayPlan:
    echo = ServerPlan(name="echo", command=sys.executable, args=["-c", ECHO], env={})
    return GatewayPlan(servers=[echo], settings=GatewaySettings(), front=FrontPlan.model_validate(front))


async def test_the_planner_becomes_the_gateway_and_serves_its_plan_over_stdio(tmp_path: Path) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-c", HAND_OVER, _plan().model_dump_json(by_alias=True)],
        env=dict(os.environ),
    )
    with anyio.fail_after(60), (tmp_path / "stderr").open("w+") as errlog:
        async with Client(stdio_client(params, errlog=errlog), mode="legacy") as client:
            tools = [tool.name for tool in (await client.list_tools()).tools]
            answer = await client.call_tool("echo__echo", {"text": "through the plan"})
            errlog.seek(0)
            pid = errlog.readline().split()[-1]
            program = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    assert program[1:4] == [b"-P", b"-m", b"mcpkit_runtime.gateway.plan"], "the same process, now the gateway"
    assert tools == ["echo__echo"]
    assert not answer.is_error and answer.content[0].text == "through the plan"  # type: ignore[union-attr]


def test_the_gateways_serving_modules_load_neither_mcpserver_nor_cryptography() -> None:
    """The gateway serves a low-level Server and never an MCPServer, whose package loads cryptography: 6.6 MiB of the
    gateway's memory (sdk._framework_left_out). Its modules, both fronts' among them, and its server, made."""
    script = (
        "import importlib, pkgutil, sys\n"
        "import mcpkit_runtime.gateway as package\n"
        "for found in pkgutil.iter_modules(package.__path__):\n"
        "    importlib.import_module(f'mcpkit_runtime.gateway.{found.name}')\n"
        "import mcpkit_runtime.stdio, mcpkit_runtime.http, mcpkit_runtime.transport\n"
        "from mcpkit_runtime.gateway.plan import GatewayPlan\n"
        "GatewayPlan.model_validate_json(sys.argv[1]).gateway().server()\n"
        "print(sorted(m for m in sys.modules if m.startswith(('cryptography', 'mcp.server.mcpserver'))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, _plan().model_dump_json(by_alias=True)],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert done.stdout.strip() == "[]", done.stdout


def test_a_front_that_cannot_start_says_why_with_a_hint_and_exits_1_as_the_kit_does() -> None:
    plan = _plan(http=True, host="0.0.0.0", port=8799)  # beyond loopback without a token
    done = subprocess.run(
        [sys.executable, "-c", HAND_OVER, plan.model_dump_json(by_alias=True)],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "error: " in done.stderr and "hint: see `kit gateway --help`" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_a_plan_served_over_http_goes_through_the_gateways_http_front(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`kit gateway --http` serves through the gateway's HTTP front (gateway.front_http), as over stdio its own."""
    from mcpkit_runtime import http
    from mcpkit_runtime.gateway import plan
    from mcpkit_runtime.gateway.proxy import Gateway

    served: dict[str, Any] = {}
    monkeypatch.setattr(http, "serve", lambda server, **options: served.update(options))
    plan.serve(GatewayPlan(servers=[], settings=GatewaySettings(), front=FrontPlan(http=True, port=0)))
    front = served["front"]
    assert front.__func__ is Gateway.http_front and isinstance(front.__self__, Gateway)


def test_every_gateway_module_loads_the_sdk_through_the_seam_and_plan_and_settings_without_it() -> None:
    """Imported first in a fresh process, each module of the gateway either leaves the SDK alone (what the kit's
    side imports to plan a gateway) or loads it through mcpkit_runtime.sdk, its protocol models built on first use."""
    import pkgutil

    import mcpkit_runtime.gateway

    wrong = []
    for found in pkgutil.iter_modules(mcpkit_runtime.gateway.__path__):
        name = f"mcpkit_runtime.gateway.{found.name}"
        done = subprocess.run(
            [sys.executable, "-c", SEAM_FIRST, name], capture_output=True, text=True, timeout=60
        )
        if done.returncode:
            wrong.append(name)
    assert wrong == [], "these import the SDK before its seam, or plan a gateway with it"
