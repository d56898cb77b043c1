"""Every client: the file the kit writes into an empty config (golden), where the file is on each OS, and the
merge that keeps everything else in the user's file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from kit.clients import CLIENTS
from kit.clients.common import LaunchEntry, Machine, apply_change, is_kit_entry, read_config

GOLDEN = Path(__file__).parent / "golden" / "clients"
KIT_ARGS = [
    "run",
    "-i",
    "--rm",
    "--cap-drop",
    "ALL",
    "--label",
    "io.mcpkit.managed=true",
    "-e",
    "ANALYST_DATABASE_URL",
]
ENTRIES = [
    LaunchEntry(
        "analyst",
        "docker",
        [*KIT_ARGS, "mcpkit/analyst:0.1.0"],
        {"ANALYST_DATABASE_URL": "postgresql://db/x"},
    ),
    LaunchEntry(
        "time", "docker", ["run", "-i", "--rm", "--label", "io.mcpkit.managed=true", "mcpkit/time:1"], {}
    ),
]
EXTENSIONS = {"JSON": "json", "JSON with comments": "jsonc", "TOML": "toml", "YAML": "yaml"}


def _golden(name: str) -> Path:
    return GOLDEN / f"{name}.{EXTENSIONS[CLIENTS[name].format.name]}"


@pytest.mark.parametrize("name", list(CLIENTS))
def test_a_new_config_file_matches_the_golden_file(name: str, tmp_path: Path) -> None:
    path = tmp_path / "config"
    apply_change(CLIENTS[name], path, ENTRIES, dry_run=False)
    if os.environ.get("KIT_UPDATE_GOLDEN") and path.read_text() != _golden(name).read_text():
        _golden(name).write_text(path.read_text())
        pytest.fail(f"{_golden(name)} rewritten: review the change, then run without KIT_UPDATE_GOLDEN")
    assert path.read_text() == _golden(name).read_text()


@pytest.mark.parametrize("name", list(CLIENTS))
def test_every_client_reads_back_the_entries_with_the_same_docker_command(name: str, tmp_path: Path) -> None:
    client = CLIENTS[name]
    path = tmp_path / "config"
    apply_change(client, path, ENTRIES, dry_run=False)
    entries = client.entries_in(read_config(client, path)[1])
    assert list(entries) == ["analyst", "time"] and all(is_kit_entry(e) for e in entries.values())
    flat = json.dumps(entries["analyst"])
    assert "mcpkit/analyst:0.1.0" in flat and "ALL" in flat, "one builder, many formats: the same arguments"
    assert "postgresql://db/x" in flat and "postgresql://db/x" not in json.dumps(
        entries["analyst"].get("args", [])
    )


HOME = Path("/home/ann")
LINUX = Machine("linux", {}, HOME)
MAC = Machine("darwin", {}, Path("/Users/ann"))
WINDOWS = Machine("win32", {"APPDATA": "C:/Users/ann/AppData/Roaming"}, Path("/nonexistent/ann"))
PATHS = {
    "claude-desktop": (".config/Claude/claude_desktop_config.json", "Library/Application Support/Claude/claude_desktop_config.json", "C:/Users/ann/AppData/Roaming/Claude/claude_desktop_config.json"),
    "claude-code": (".claude.json", ".claude.json", "/nonexistent/ann/.claude.json"),
    "cursor": (".cursor/mcp.json", ".cursor/mcp.json", "/nonexistent/ann/.cursor/mcp.json"),
    "vscode": (".config/Code/User/mcp.json", "Library/Application Support/Code/User/mcp.json", "C:/Users/ann/AppData/Roaming/Code/User/mcp.json"),
    "vscode-insiders": (".config/Code - Insiders/User/mcp.json", "Library/Application Support/Code - Insiders/User/mcp.json", "C:/Users/ann/AppData/Roaming/Code - Insiders/User/mcp.json"),
    "windsurf": (".codeium/windsurf/mcp_config.json", ".codeium/windsurf/mcp_config.json", "/nonexistent/ann/.codeium/windsurf/mcp_config.json"),
    "zed": (".config/zed/settings.json", ".config/zed/settings.json", "C:/Users/ann/AppData/Roaming/Zed/settings.json"),
    "codex": (".codex/config.toml", ".codex/config.toml", "/nonexistent/ann/.codex/config.toml"),
    "gemini": (".gemini/settings.json", ".gemini/settings.json", "/nonexistent/ann/.gemini/settings.json"),
    "goose": (".config/goose/config.yaml", ".config/goose/config.yaml", "C:/Users/ann/AppData/Roaming/Block/goose/config/config.yaml"),
    "continue": (".continue/config.yaml", ".continue/config.yaml", "/nonexistent/ann/.continue/config.yaml"),
    "lmstudio": (".lmstudio/mcp.json", ".lmstudio/mcp.json", "/nonexistent/ann/.lmstudio/mcp.json"),
    "cline": (".cline/data/settings/cline_mcp_settings.json", ".cline/data/settings/cline_mcp_settings.json", "/nonexistent/ann/.cline/data/settings/cline_mcp_settings.json"),
    "opencode": (".config/opencode/opencode.json", ".config/opencode/opencode.json", "/nonexistent/ann/.config/opencode/opencode.json"),
    "kiro": (".kiro/settings/mcp.json", ".kiro/settings/mcp.json", "/nonexistent/ann/.kiro/settings/mcp.json"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(CLIENTS))
def test_user_config_paths_on_linux_macos_and_windows(name: str) -> None:
    linux, mac, windows = PATHS[name]
    client = CLIENTS[name]
    assert client.user_file(LINUX) == HOME / linux
    assert client.user_file(MAC) == MAC.home / mac
    assert client.user_file(WINDOWS) == Path(windows)


@pytest.mark.parametrize(
    ("name", "environ", "expected"),
    [
        ("codex", {"CODEX_HOME": "/opt/codex"}, "/opt/codex/config.toml"),
        ("claude-code", {"CLAUDE_CONFIG_DIR": "/cfg"}, "/cfg/.claude.json"),
        ("goose", {"GOOSE_PATH_ROOT": "/g"}, "/g/config/config.yaml"),
        ("lmstudio", {"LMSTUDIO_HOME": "/lms"}, "/lms/mcp.json"),
        ("cline", {"CLINE_MCP_SETTINGS_PATH": "/c/s.json"}, "/c/s.json"),
        ("continue", {"CONTINUE_GLOBAL_DIR": "/cont"}, "/cont/config.yaml"),
        ("vscode", {"XDG_CONFIG_HOME": "/x"}, "/x/Code/User/mcp.json"),
    ],
)
def test_environment_variables_that_move_a_config_file_are_honoured(
    name: str, environ: dict[str, str], expected: str
) -> None:
    assert CLIENTS[name].user_file(Machine("linux", environ, HOME)) == Path(expected)


def test_project_scope_files_sit_in_the_project() -> None:
    project = {name: c.project_file for name, c in CLIENTS.items() if c.project_file}
    assert project == {
        "claude-code": ".mcp.json", "cursor": ".cursor/mcp.json", "vscode": ".vscode/mcp.json",
        "vscode-insiders": ".vscode/mcp.json", "zed": ".zed/settings.json", "codex": ".codex/config.toml", "gemini": ".gemini/settings.json",
        "opencode": "opencode.json", "kiro": ".kiro/settings/mcp.json",
    }  # fmt: skip


def test_a_client_is_detected_by_its_folder(tmp_path: Path) -> None:
    machine = Machine("linux", {}, tmp_path)
    assert not any(c.installed(machine) for c in CLIENTS.values())
    (tmp_path / ".codex").mkdir()
    (tmp_path / ".config" / "zed").mkdir(parents=True)
    assert [n for n, c in CLIENTS.items() if c.installed(machine)] == ["zed", "codex"]


def test_claude_codes_local_scope_is_the_projects_entry_in_the_users_file(tmp_path: Path) -> None:
    """`claude mcp add --scope local` keeps a server under projects.<absolute project path>.mcpServers in
    ~/.claude.json; the other projects' entries and the user's own servers are left alone."""
    client = CLIENTS["claude-code"]
    project = tmp_path / "proj"
    project.mkdir()
    path = client.path("local", Machine("linux", {}, tmp_path), project)
    assert path == tmp_path / ".claude.json" and client.scopes == ("user", "project", "local")
    original = json.dumps(
        {
            "mcpServers": {"mine": {"command": "x"}},
            "projects": {"/other": {"mcpServers": {}, "allowedTools": []}},
        },
        indent=2,
    )
    path.write_text(original)
    local = client.scoped("local", project)
    apply_change(local, path, ENTRIES, dry_run=False)
    data = json.loads(path.read_text())
    assert set(data["projects"][str(project.resolve())]["mcpServers"]) == {"analyst", "time"}
    assert data["mcpServers"] == {"mine": {"command": "x"}} and data["projects"]["/other"]["mcpServers"] == {}
    apply_change(local, path, [], dry_run=False, uninstall=True)
    assert path.read_text() == original
