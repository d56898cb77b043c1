"""Installing is a merge into the user's own file: other entries and settings kept, comments kept where the format
has them, reinstalling changes nothing, uninstalling gives back the original; a file the kit cannot safely change
is refused and left as it was."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kit import files
from kit.clients import CLIENTS
from kit.clients.common import LaunchEntry, apply_change, is_kit_entry, read_config
from kit.errors import KitError

ENTRIES = [
    LaunchEntry("analyst", "docker", ["run", "-i", "--rm", "--label", "io.mcpkit.managed=true", "mcpkit/analyst:0.1.0"], {"A": "1"}),
    LaunchEntry("time", "docker", ["run", "-i", "--rm", "--label", "io.mcpkit.managed=true", "mcpkit/time:1"], {}),
]  # fmt: skip

# A user's file in each format: their own server and settings, with comments where the format has them.
EXISTING = {
    "claude-desktop": '{\n  "globalShortcut": "Ctrl+Space",\n  "mcpServers": {\n    "files": {"command": "npx", "args": ["-y", "fs"]}\n  }\n}\n',
    "vscode": '// my MCP servers\n{\n\t"inputs": [],\n\t"servers": {\n\t\t// the one I wrote\n\t\t"mine": {"type": "stdio", "command": "uvx", "args": ["mine"]}, // keep me\n\t},\n}\n',
    "zed": '{\n  // editor\n  "theme": "One Dark",\n  "vim_mode": true\n}\n',
    "codex": '# Codex settings\nmodel = "o4-mini"  # the default\n\n[mcp_servers.mine]\ncommand = "uvx"\nargs = ["mine"]\n\n[tui]\nnotifications = true\n',
    "goose": '# goose config\nGOOSE_PROVIDER: openai\nextensions:\n  developer:\n    name: developer\n    type: builtin\n    enabled: true  # always on\n',
    "continue": 'name: Local Assistant\nversion: 1.0.0\nschema: v1\nmodels:\n  - name: Llama\n    provider: ollama\n# my servers\nmcpServers:\n  - name: mine\n    command: uvx\n    args:\n      - mine\n',
    "opencode": '{\n  "$schema": "https://opencode.ai/config.json",\n  // local tools\n  "mcp": {\n    "mine": {"type": "local", "command": ["uvx", "mine"]}\n  }\n}\n',
}  # fmt: skip


def _clients_with_files() -> list[str]:
    return list(EXISTING)


@pytest.mark.parametrize("name", _clients_with_files())
def test_install_keeps_the_rest_reinstall_changes_nothing_uninstall_restores_the_file(
    name: str, tmp_path: Path
) -> None:
    client = CLIENTS[name]
    path = tmp_path / "config"
    path.write_text(EXISTING[name])
    _, before = read_config(client, path)

    first = apply_change(client, path, ENTRIES, dry_run=False)
    assert first.added == ["analyst", "time"] and first.written and first.backup is not None
    text = path.read_text()
    for comment in (line.split("#")[-1].split("//")[-1].strip() for line in EXISTING[name].splitlines()
                    if ("#" in line or "//" in line) and "://" not in line):  # fmt: skip
        assert comment in text, f"comment {comment!r} lost"
    _, after = read_config(client, path)
    assert _without(after, client.section, {"analyst", "time"}, before) == before, "everything else kept"

    again = apply_change(client, path, ENTRIES, dry_run=False)
    assert not again.written and again.unchanged == ["analyst", "time"] and path.read_text() == text

    removed = apply_change(client, path, [], dry_run=False, uninstall=True)
    assert sorted(removed.removed) == ["analyst", "time"]
    assert path.read_text() == EXISTING[name], "byte for byte, YAML too"


def _without(
    data: dict[str, Any], section: tuple[str, ...], names: set[str], before: dict[str, Any]
) -> dict[str, Any]:
    """`data` without the named entries (and without their section, when it did not exist `before`)."""
    data = json.loads(json.dumps(data))
    node: Any = data
    for key in section[:-1]:
        node = node[key]
    entries = node[section[-1]]
    kept = (
        [e for e in entries if e.get("name") not in names]
        if isinstance(entries, list)
        else {k: v for k, v in entries.items() if k not in names}
    )
    if kept or section[-1] in before:
        node[section[-1]] = kept
    else:
        del node[section[-1]]
    return data


def test_uninstall_of_named_servers_leaves_the_other_kit_entries(tmp_path: Path) -> None:
    client = CLIENTS["claude-desktop"]
    path = tmp_path / "c.json"
    apply_change(client, path, ENTRIES, dry_run=False)
    change = apply_change(client, path, ENTRIES[:1], dry_run=False, uninstall=True)
    assert change.removed == ["analyst"]
    assert list(client.entries_in(read_config(client, path)[1])) == ["time"]


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("claude-desktop", '{"mcpServers": {'),
        ("claude-desktop", "// comment\n{}"),
        ("claude-desktop", '{"mcpServers": []}'),
        ("vscode", '{"servers": "none"}'),
        ("codex", "[mcp_servers\ncommand ="),
        ("codex", 'mcp_servers = "x"\n'),
        ("goose", "extensions: [\n"),
        ("goose", "- a\n- b\n"),
        ("continue", "mcpServers:\n  mine: {}\n"),
    ],
)
def test_a_malformed_file_is_refused_and_left_untouched(name: str, content: str, tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(content)
    with pytest.raises(KitError, match="untouched"):
        apply_change(CLIENTS[name], path, ENTRIES, dry_run=False)
    assert path.read_text() == content and list(tmp_path.iterdir()) == [path]


def test_a_read_only_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text("{}")
    path.chmod(0o444)
    with pytest.raises(KitError, match="read-only"):
        apply_change(CLIENTS["cursor"], path, ENTRIES, dry_run=False)
    assert path.read_text() == "{}" and list(tmp_path.iterdir()) == [path]


def test_a_file_changed_while_the_kit_writes_is_left_as_the_other_program_wrote_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.json"
    path.write_text('{"mcpServers": {}}')
    original_fsync = os.fsync

    def client_saves_meanwhile(descriptor: int) -> None:  # between the kit's read and its rename
        original_fsync(descriptor)
        if threading.current_thread() is threading.main_thread():
            path.write_text('{"theme": "saved by the client"}')

    monkeypatch.setattr(files.os, "fsync", client_saves_meanwhile)
    with pytest.raises(KitError, match="changed while"):
        apply_change(CLIENTS["claude-desktop"], path, ENTRIES, dry_run=False)
    assert path.read_text() == '{"theme": "saved by the client"}'
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".bak")) == ["c.json"], (
        "no temp file left"
    )


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    other=st.dictionaries(
        st.text(min_size=1, max_size=10).filter(lambda k: k != "mcpServers"), JSON_VALUES, max_size=5
    ),
    servers=st.dictionaries(
        st.text(min_size=1, max_size=10).filter(lambda k: k not in ("analyst", "time")),
        JSON_VALUES,
        max_size=4,
    ),
    indent=st.sampled_from([None, 2, 4, "\t"]),
)
def test_for_any_existing_config_the_merge_keeps_every_key_it_does_not_own(
    other: dict[str, Any], servers: dict[str, Any], indent: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("prop") / "c.json"
    original = {**other, "mcpServers": servers}
    path.write_text(json.dumps(original, indent=indent))
    apply_change(CLIENTS["claude-desktop"], path, ENTRIES, dry_run=False)
    written = json.loads(path.read_text())
    assert {k: v for k, v in written.items() if k != "mcpServers"} == other
    assert {k: v for k, v in written["mcpServers"].items() if k not in ("analyst", "time")} == servers
    assert all(is_kit_entry(written["mcpServers"][n]) for n in ("analyst", "time"))
    apply_change(CLIENTS["claude-desktop"], path, [], dry_run=False, uninstall=True)
    assert path.read_text() == json.dumps(original, indent=indent), "byte for byte, an empty section too"
