import json
from pathlib import Path

import pytest

from kit.clients.claude_desktop import FORMAT, default_path
from kit.clients.common import LaunchEntry, apply_change
from kit.errors import KitError

ENTRY = LaunchEntry("analyst", "docker", ["run", "-i", "--rm", "-e", "ANALYST_DATABASE_URL", "img"], {})
EXISTING = {
    "globalShortcut": "Ctrl+Space",
    "mcpServers": {
        "filesystem": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/x"]}
    },
}


def test_default_path_per_operating_system() -> None:
    home = Path("/home/ann")
    assert (
        default_path("darwin", {}, home)
        == home / "Library/Application Support/Claude/claude_desktop_config.json"
    )
    windows = default_path("win32", {"APPDATA": r"C:\Users\ann\AppData\Roaming"}, home)
    assert windows == Path(r"C:\Users\ann\AppData\Roaming") / "Claude" / "claude_desktop_config.json"
    assert default_path("linux", {}, home) == home / ".config/Claude/claude_desktop_config.json"
    assert default_path("linux", {"XDG_CONFIG_HOME": "/xdg"}, home) == Path(
        "/xdg/Claude/claude_desktop_config.json"
    )


def test_env_block_appears_only_with_values() -> None:
    rendered = FORMAT.render([ENTRY, LaunchEntry("b", "docker", ["run"], {"TOKEN": "s3cret"})])
    assert "env" not in rendered["mcpServers"]["analyst"]
    assert rendered["mcpServers"]["b"]["env"] == {"TOKEN": "s3cret"}


def test_merge_keeps_every_other_key_and_server(tmp_path: Path) -> None:
    path = tmp_path / "claude_desktop_config.json"
    path.write_text(json.dumps(EXISTING))
    change = apply_change(path, [ENTRY], FORMAT, dry_run=False)
    written = json.loads(path.read_text())
    assert written["globalShortcut"] == "Ctrl+Space"
    assert written["mcpServers"]["filesystem"] == EXISTING["mcpServers"]["filesystem"]
    assert written["mcpServers"]["analyst"]["args"] == ENTRY.args
    assert change.added == ["analyst"] and change.written


def test_a_backup_of_the_previous_file_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "claude_desktop_config.json"
    original = json.dumps(EXISTING)
    path.write_text(original)
    change = apply_change(path, [ENTRY], FORMAT, dry_run=False)
    assert change.backup is not None and change.backup.read_text() == original


def test_rewriting_the_same_entries_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "claude_desktop_config.json"
    apply_change(path, [ENTRY], FORMAT, dry_run=False)
    again = apply_change(path, [ENTRY], FORMAT, dry_run=False)
    assert again.unchanged == ["analyst"] and not again.written and again.backup is None
    assert list(tmp_path.iterdir()) == [path]


def test_an_existing_entry_of_ours_is_updated(tmp_path: Path) -> None:
    path = tmp_path / "claude_desktop_config.json"
    path.write_text(json.dumps({"mcpServers": {"analyst": {"command": "old", "args": []}}}))
    change = apply_change(path, [ENTRY], FORMAT, dry_run=False)
    assert change.updated == ["analyst"]
    assert json.loads(path.read_text())["mcpServers"]["analyst"]["command"] == "docker"


def test_dry_run_writes_nothing_and_shows_the_diff(tmp_path: Path) -> None:
    path = tmp_path / "claude_desktop_config.json"
    path.write_text(json.dumps(EXISTING))
    before = path.read_bytes()
    change = apply_change(path, [ENTRY], FORMAT, dry_run=True)
    assert path.read_bytes() == before and not change.written
    assert '+    "analyst": {' in change.diff
    assert list(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize("content", ['{"mcpServers": {', "[1, 2]", '{"mcpServers": []}'])
def test_malformed_file_is_refused_and_left_untouched(tmp_path: Path, content: str) -> None:
    path = tmp_path / "claude_desktop_config.json"
    path.write_text(content)
    with pytest.raises(KitError, match="untouched"):
        apply_change(path, [ENTRY], FORMAT, dry_run=False)
    assert path.read_text() == content
    assert list(tmp_path.iterdir()) == [path]


def test_missing_file_and_folder_are_created(tmp_path: Path) -> None:
    path = tmp_path / "Claude" / "claude_desktop_config.json"
    change = apply_change(path, [ENTRY], FORMAT, dry_run=False)
    assert change.written and change.backup is None
    assert json.loads(path.read_text()) == FORMAT.render([ENTRY])
