"""The smoke test against a real MCP server in a child process (the SDK's stdio client, no Docker: the container
is what the integration tier adds)."""

import sys
from pathlib import Path

import pytest
from mcp.client.stdio import StdioServerParameters

from kit.image.listing import server_statuses
from kit.image.smoke import SmokeTestFailed, smoke_test
from kit.project.servers import ServerDeclaration, SmokeCheck, load_index_server
from kit.project.settings import load_settings

SERVER = """
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

mcp = MCPServer("probe")

@mcp.tool()
def status(repo: str) -> str:
    if repo != "/repo":
        raise ToolError(f"{repo} is not a repository")
    return "clean"

mcp.run()
"""


class _Entry:
    """Starts the server as a plain process: what smoke_test needs of a launch entry."""

    def __init__(self, script: Path) -> None:
        self.script = script

    def stdio_params(self) -> StdioServerParameters:
        return StdioServerParameters(command=sys.executable, args=[str(self.script)])


@pytest.fixture
def entry(tmp_path: Path) -> _Entry:
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    return _Entry(script)


def test_a_declared_call_that_answers_passes(entry: _Entry) -> None:
    result = smoke_test(entry, SmokeCheck(tool="status", arguments={"repo": "/repo"}))  # type: ignore[arg-type]
    assert result.tools == ["status"]


def test_a_declared_call_that_fails_fails_the_smoke_test_with_its_answer(entry: _Entry) -> None:
    with pytest.raises(
        SmokeTestFailed, match=r"status answered with an error.*/elsewhere is not a repository"
    ):
        smoke_test(entry, SmokeCheck(tool="status", arguments={"repo": "/elsewhere"}))  # type: ignore[arg-type]


def test_skipping_needs_a_reason_and_excludes_a_call() -> None:
    assert SmokeCheck(skip="needs its database").describe() == "skipped: needs its database"
    with pytest.raises(ValueError, match="skip = "):
        ServerDeclaration.model_validate({"smoke": "skip"})
    with pytest.raises(ValueError, match="not both"):
        SmokeCheck(skip="x", tool="status")
    with pytest.raises(ValueError, match="arguments without a tool"):
        SmokeCheck(arguments={"a": 1})
    assert ServerDeclaration().smoke.describe() == "handshake, tools/list"


def test_a_skip_reason_is_shown_where_the_servers_are_listed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent")  # the listing works without an engine too
    server = load_index_server(
        tmp_path, "db", {"package": "some-db-mcp", "smoke": {"skip": "needs its database"}}
    )
    settings = load_settings({}, cwd=tmp_path)
    (status,) = server_statuses(settings, [server])
    assert status.smoke == "skipped: needs its database" and status.state == "unknown"
