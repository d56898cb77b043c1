"""`kit config --client NAME` prints the client's own format, the very bytes `--install` writes into a new file;
`--private` and the warning about values others can read, through the command line."""

from __future__ import annotations

import json
import stat
import tomllib
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from kit.cli import app
from kit.clients import CLIENTS

runner = CliRunner()
READERS = {
    "JSON": json.loads,
    "JSON with comments": json.loads,
    "TOML": tomllib.loads,
    "YAML": yaml.safe_load,
}


@pytest.fixture
def in_project(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(project)
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")  # no engine: no image checks
    return project


@pytest.mark.parametrize("name", ["codex", "goose", "continue", "vscode", "claude-desktop", "opencode"])
def test_printing_gives_the_clients_own_format_and_the_bytes_install_adds(
    name: str, in_project: Path
) -> None:
    printed = runner.invoke(app, ["config", "analyst", "--client", name])
    assert printed.exit_code == 0, printed.output
    data = READERS[CLIENTS[name].format.name](printed.stdout)
    assert "analyst" in json.dumps(data)
    target = in_project / "written"
    written = runner.invoke(app, ["config", "analyst", "--client", name, "--output", str(target)])
    assert written.exit_code == 0, written.output
    if CLIENTS[name].new_file is None:
        assert target.read_text() == printed.stdout
    else:  # Continue's new file starts with its own header, then the same lines
        assert target.read_text().endswith(printed.stdout)


def test_codex_prints_toml_tables(in_project: Path) -> None:
    printed = runner.invoke(app, ["config", "analyst", "--client", "codex"]).stdout
    assert printed.startswith("[mcp_servers.analyst]\n")
    assert tomllib.loads(printed)["mcp_servers"]["analyst"]["command"] == "docker"


def test_private_and_the_warning_through_the_command_line(in_project: Path) -> None:
    target = in_project / "mcp.json"
    target.write_text("{}\n")
    target.chmod(0o644)
    option = [
        "config",
        "analyst",
        "--client",
        "cursor",
        "--output",
        str(target),
        "--env",
        "ANALYST_ROW_LIMIT=5",
    ]
    warned = runner.invoke(app, option)
    assert (
        warned.exit_code == 0 and "readable by other users" in warned.stderr and "--private" in warned.stderr
    )
    private = runner.invoke(app, [*option, "--private"])
    assert private.exit_code == 0 and "readable by other users" not in private.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_printing_leaves_every_character_as_it_is(in_project: Path) -> None:
    folder = "/srv/:smile:[bold]x[/bold]"  # rich would make an emoji and markup of these
    printed = runner.invoke(app, ["config", "mailer", "--client", "codex", "--volume", f"outbox={folder}"])
    assert printed.exit_code == 0, printed.output
    assert any(folder in arg for arg in tomllib.loads(printed.stdout)["mcp_servers"]["mailer"]["args"])
