import json
from pathlib import Path

import pytest

from kit.clients.claude_desktop import CLIENT, user_file
from kit.clients.common import LaunchEntry, Machine, apply_change
from kit.clients.configure import render
from kit.errors import KitError

KIT_ARGS = ["run", "-i", "--rm", "--label", "io.mcpkit.managed=true", "-e", "ANALYST_DATABASE_URL", "img"]
ENTRY = LaunchEntry("analyst", "docker", KIT_ARGS, {})
EXISTING = {
    "globalShortcut": "Ctrl+Space",
    "mcpServers": {
        "filesystem": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/x"]}
    },
}


def test_default_path_per_operating_system(tmp_path: Path) -> None:
    home = Path("/home/ann")
    assert (
        user_file(Machine("darwin", {}, home))
        == home / "Library/Application Support/Claude/claude_desktop_config.json"
    )
    windows = user_file(Machine("win32", {"APPDATA": r"C:\Users\ann\AppData\Roaming"}, tmp_path))
    assert windows == Path(r"C:\Users\ann\AppData\Roaming") / "Claude" / "claude_desktop_config.json"
    assert user_file(Machine("linux", {}, home)) == home / ".config/Claude/claude_desktop_config.json"
    assert user_file(Machine("linux", {"XDG_CONFIG_HOME": "/xdg"}, home)) == Path(
        "/xdg/Claude/claude_desktop_config.json"
    )


def test_the_packaged_windows_app_reads_its_own_copy_of_appdata(tmp_path: Path) -> None:
    package = tmp_path / "Local" / "Packages" / "Claude_pzs8sxrjxfjjc"
    package.mkdir(parents=True)
    machine = Machine(
        "win32", {"LOCALAPPDATA": str(tmp_path / "Local"), "APPDATA": str(tmp_path / "Roaming")}, tmp_path
    )
    assert user_file(machine) == package / "LocalCache" / "Roaming" / "Claude" / "claude_desktop_config.json"


def test_env_block_appears_only_with_values() -> None:
    rendered = render(CLIENT, [ENTRY, LaunchEntry("b", "docker", ["run"], {"TOKEN": "s3cret"})])
    assert "env" not in rendered["mcpServers"]["analyst"]
    assert rendered["mcpServers"]["b"]["env"] == {"TOKEN": "s3cret"}


def test_merge_keeps_every_other_key_and_server(tmp_path: Path) -> None:
    path = tmp_path / "claude_desktop_config.json"
    path.write_text(json.dumps(EXISTING))
    change = apply_change(CLIENT, path, [ENTRY], dry_run=False)
    written = json.loads(path.read_text())
    assert written["globalShortcut"] == "Ctrl+Space"
    assert written["mcpServers"]["filesystem"] == EXISTING["mcpServers"]["filesystem"]
    assert written["mcpServers"]["analyst"]["args"] == ENTRY.args
    assert change.added == ["analyst"] and change.written


def test_a_backup_of_the_previous_file_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "claude_desktop_config.json"
    original = json.dumps(EXISTING)
    path.write_text(original)
    change = apply_change(CLIENT, path, [ENTRY], dry_run=False)
    assert change.backup is not None and change.backup.read_text() == original


def test_rewriting_the_same_entries_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "claude_desktop_config.json"
    apply_change(CLIENT, path, [ENTRY], dry_run=False)
    again = apply_change(CLIENT, path, [ENTRY], dry_run=False)
    assert again.unchanged == ["analyst"] and not again.written and again.backup is None
    assert list(tmp_path.iterdir()) == [path]


def test_an_existing_entry_of_ours_is_updated(tmp_path: Path) -> None:
    path = tmp_path / "claude_desktop_config.json"
    old = {"command": "docker", "args": ["run", "--label", "io.mcpkit.managed=true", "old-image"]}
    path.write_text(json.dumps({"mcpServers": {"analyst": old}}))
    change = apply_change(CLIENT, path, [ENTRY], dry_run=False)
    assert change.updated == ["analyst"]
    assert json.loads(path.read_text())["mcpServers"]["analyst"]["args"][-1] == "img"


def test_an_entry_of_the_same_name_the_kit_did_not_write_is_never_replaced(tmp_path: Path) -> None:
    path = tmp_path / "claude_desktop_config.json"
    original = json.dumps({"mcpServers": {"analyst": {"command": "uvx", "args": ["my-analyst"]}}})
    path.write_text(original)
    with pytest.raises(KitError, match="did not write"):
        apply_change(CLIENT, path, [ENTRY], dry_run=False)
    assert path.read_text() == original


def test_dry_run_writes_nothing_and_shows_the_diff(tmp_path: Path) -> None:
    path = tmp_path / "claude_desktop_config.json"
    path.write_text(json.dumps(EXISTING, indent=2))
    before = path.read_bytes()
    change = apply_change(CLIENT, path, [ENTRY], dry_run=True)
    assert path.read_bytes() == before and not change.written
    assert '+    "analyst": {' in change.diff, change.diff
    assert list(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize("content", ['{"mcpServers": {', "[1, 2]", '{"mcpServers": []}'])
def test_malformed_file_is_refused_and_left_untouched(tmp_path: Path, content: str) -> None:
    path = tmp_path / "claude_desktop_config.json"
    path.write_text(content)
    with pytest.raises(KitError, match="untouched"):
        apply_change(CLIENT, path, [ENTRY], dry_run=False)
    assert path.read_text() == content
    assert list(tmp_path.iterdir()) == [path]


def test_missing_file_and_folder_are_created(tmp_path: Path) -> None:
    path = tmp_path / "Claude" / "claude_desktop_config.json"
    change = apply_change(CLIENT, path, [ENTRY], dry_run=False)
    assert change.written and change.backup is None
    assert json.loads(path.read_text()) == render(CLIENT, [ENTRY])
