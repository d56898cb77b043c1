"""Hardening seen from inside the running containers of every generated config, and a breakout attempted from
inside that fails each way; secrets and personal data appear nowhere they should not."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import docker
import pytest
from mcp import Client
from mcp.client.stdio import stdio_client

from kit.containers.launch import stdio_params
from kit.identity import SERVER
from kit.image.builder import BuildResult

SECRET = "s3cret-hash-key-never-shown"
# Run inside the container, as the server's own user, while its client is connected.
INSPECT = """
import json, os
status = dict(l.split(":\\t", 1) for l in open("/proc/self/status").read().splitlines() if ":\\t" in l)
mounts = {l.split()[1]: l.split()[3] for l in open("/proc/self/mounts")}
print(json.dumps({"uid": os.getuid(), "gid": os.getgid(), "cap_eff": status["CapEff"].strip(),
    "cap_bnd": status["CapBnd"].strip(), "no_new_privs": status["NoNewPrivs"].strip(), "root": mounts["/"],
    "tmp": mounts.get("/tmp", ""), "interfaces": sorted(os.listdir("/sys/class/net"))}))
"""
BREAKOUT = """
import errno, json, os, socket, subprocess
tried = {}
def attempt(name, action):
    try:
        action()
        tried[name] = "succeeded"
    except Exception as exc:
        tried[name] = type(exc).__name__
attempt("write_root", lambda: open("/opt/venv/escape", "w").write("x"))
attempt("write_etc", lambda: open("/etc/passwd", "a").write("x"))
def run_from_tmp():
    open("/tmp/run.sh", "w").write("#!/bin/sh\\necho ran\\n")
    os.chmod("/tmp/run.sh", 0o755)
    subprocess.run(["/tmp/run.sh"], check=True)
attempt("exec_from_tmp", run_from_tmp)
attempt("setuid_root", lambda: os.setuid(0))
attempt("chown_to_root", lambda: os.chown("/tmp/run.sh", 0, 0))
def network():
    with socket.create_connection(("1.1.1.1", 53), timeout=2):
        pass
attempt("network", network)
def fork_bomb():
    children = []
    try:
        for _ in range(400):
            children.append(subprocess.Popen(["sleep", "30"]))
    finally:
        for child in children:
            child.kill()
attempt("fork_past_pids_limit", fork_bomb)
print(json.dumps(tried))
"""


def _inside(client: docker.DockerClient, entry: dict[str, Any], name: str, scripts: list[str]) -> list[Any]:
    """Start the server through its entry, run each script inside its container while the client is connected."""

    async def session() -> list[Any]:
        params = stdio_params(entry["command"], entry["args"], entry.get("env"))
        async with Client(params, mode="legacy"):
            (container,) = client.containers.list(
                ignore_removed=True,
                filters={"label": [f"{SERVER}={name}", *os.environ["KIT_LABELS"].split(",")]},
            )
            outputs = [json.loads(container.exec_run(["python", "-c", s]).output) for s in scripts]
            return [container.attrs, *outputs]

    return anyio.run(session)


@pytest.fixture(scope="module", params=["analyst", "mailer"])
def seen_inside(
    request: pytest.FixtureRequest,
    server_images: list[BuildResult],
    kit_config: Callable[..., dict[str, dict[str, Any]]],
    docker_client: docker.DockerClient,
) -> list[Any]:
    """One container per server, started through its generated entry: its attributes, what it sees of its own
    limits, then how each breakout attempt ended."""
    name = request.param
    return _inside(docker_client, kit_config(name)[name], name, [INSPECT, BREAKOUT])


def test_every_generated_config_runs_hardened(seen_inside: list[Any]) -> None:
    attrs, facts, _ = seen_inside
    host = attrs["HostConfig"]
    assert attrs["Config"]["User"] == "10001:10001" and facts["uid"] == 10001 and facts["gid"] == 10001
    assert (
        host["CapDrop"] == ["ALL"]
        and facts["cap_eff"] == "0000000000000000"
        and facts["cap_bnd"] == "0000000000000000"
    )
    assert "no-new-privileges" in host["SecurityOpt"] and facts["no_new_privs"] == "1"
    assert host["ReadonlyRootfs"] and facts["root"].startswith("ro")
    assert {"noexec", "nosuid", "nodev"} <= set(facts["tmp"].split(","))
    assert host["NetworkMode"] == "none" and facts["interfaces"] == ["lo"]
    assert host["Memory"] == 512 * 2**20 and host["MemorySwap"] == host["Memory"]
    assert host["NanoCpus"] == 10**9 and host["PidsLimit"] == 128 and host["Init"] is True
    assert host["AutoRemove"] is True and not attrs["Name"].startswith("/mcpkit")


def test_a_breakout_from_inside_fails_each_way(seen_inside: list[Any]) -> None:
    _, _, tried = seen_inside
    assert set(tried) == {"write_root", "write_etc", "exec_from_tmp", "setuid_root", "chown_to_root", "network",
                          "fork_past_pids_limit"}  # fmt: skip
    assert "succeeded" not in tried.values(), tried
    assert tried["exec_from_tmp"] == "PermissionError", "/tmp is noexec"
    assert tried["fork_past_pids_limit"] == "BlockingIOError", (
        "stopped by the pids limit, not by something else"
    )


def test_secrets_and_personal_data_appear_nowhere_they_should_not(
    tmp_path: Path,
    server_images: list[BuildResult],
    kit_config: Callable[..., dict[str, dict[str, Any]]],
    docker_client: docker.DockerClient,
) -> None:
    entry = kit_config("analyst", f"--env=ANALYST_PII_HASH_KEY={SECRET}")["analyst"]
    assert entry["env"] == {"ANALYST_PII_HASH_KEY": SECRET} and SECRET not in json.dumps(entry["args"])
    queries = ["SELECT email, ssn, phone, card_number FROM customers ORDER BY id LIMIT 5",
               "SELECT upper(email) FROM customers", "SELECT * FROM customers WHERE ssn LIKE '1%'",
               "SELECT CAST(ssn AS INTEGER) FROM customers"]  # fmt: skip

    stderr = tmp_path / "server-stderr.log"  # the audit log, as the client keeps it

    async def session() -> tuple[list[str], dict[str, Any], str]:
        params = stdio_params(entry["command"], entry["args"], entry["env"])
        texts = []
        with stderr.open("w") as errlog:
            async with Client(stdio_client(params, errlog=errlog), mode="legacy") as client:
                (container,) = docker_client.containers.list(
                    ignore_removed=True,
                    filters={"label": [f"{SERVER}=analyst", *os.environ["KIT_LABELS"].split(",")]},
                )
                for query in queries:
                    result = await client.call_tool("run_sql", {"query": query})
                    texts.append(
                        json.dumps([c.model_dump() for c in result.content])
                        + json.dumps(result.structured_content)
                    )
                ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
                return texts, container.attrs, ps

    results, attrs, processes = anyio.run(session)
    logs_and_processes = stderr.read_text() + processes
    assert '"tool_call"' in logs_and_processes, "the audit lines, to look in"
    assert attrs["HostConfig"]["LogConfig"]["Type"] == "none", "the engine keeps no copy of the traffic"
    (analyst,) = [image for image in server_images if image.server == "analyst"]
    personal = _personal_values(docker_client, analyst.tag)
    assert len(personal) > 100, "the demo database's personal values, to look for"
    exposed = {"arguments": json.dumps([attrs["Path"], attrs["Args"], attrs["Config"]["Cmd"], attrs["Config"]["Entrypoint"]]),
               "audit log and processes": logs_and_processes, "results and errors": "\n".join(results)}  # fmt: skip
    for where, text in exposed.items():
        assert SECRET not in text, f"the secret value is in the {where}"
        assert not [value for value in personal if value in text], f"personal data in the {where}"


def _personal_values(client: docker.DockerClient, image: str) -> set[str]:
    """The demo database's personal values, read from the image itself (outside every wall)."""
    script = (
        "import json, sqlite3; c = sqlite3.connect('/opt/mcp/data/demo.db'); "
        "print(json.dumps([str(v) for r in c.execute('SELECT email, ssn, phone, card_number FROM customers') for v in r]))"
    )
    output = client.containers.run(
        image,
        ["-c", script],
        entrypoint=["python"],
        remove=True,
        network_mode="none",
    )
    return set(json.loads(output))
