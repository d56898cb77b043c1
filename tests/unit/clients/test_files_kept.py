"""Client files kept as their owner wrote them: the hand-written shapes that used to lose data (Codex's dotted keys
and inline tables), links, line endings, byte-order marks, modes, owners, empty files and emptied sections; and
backups that are never wider than their original, kept to a few, and free of the kit's values after --uninstall."""

from __future__ import annotations

import json
import os
import stat
import tomllib
from pathlib import Path

import pytest
import yaml

from kit import files
from kit.clients import CLIENTS
from kit.clients.common import BACKUPS_KEPT, LaunchEntry, apply_change
from kit.errors import KitError

MARK = "io.mcpkit.managed=true"
ANALYST = LaunchEntry("analyst", "docker", ["run", "-i", "--rm", "--label", MARK, "mcpkit/analyst:0.1.0"], {})
SECRET = LaunchEntry(
    "analyst",
    "docker",
    ["run", "-i", "--rm", "--label", MARK, "-e", "TOKEN", "mcpkit/analyst:0.1.0"],
    {"TOKEN": "s3"},
)


def _roundtrip(name: str, path: Path, original: bytes, entries: list[LaunchEntry] = [ANALYST]) -> bytes:  # noqa: B006
    """Install (and check a reinstall changes nothing), then uninstall: the installed bytes."""
    path.write_bytes(original)
    assert apply_change(CLIENTS[name], path, entries, dry_run=False).written
    installed = path.read_bytes()
    assert not apply_change(CLIENTS[name], path, entries, dry_run=False).written
    assert path.read_bytes() == installed
    apply_change(CLIENTS[name], path, [], dry_run=False, uninstall=True)
    assert path.read_bytes() == original, "uninstall gives the original bytes back"
    return installed


CODEX_SHAPES = {
    "dotted keys": 'mcp_servers.docs.command = "npx"\nmcp_servers.docs.args = ["-y", "docs"]\n',
    "inline table": 'model = "o3"\nmcp_servers = { docs = { command = "npx", args = ["-y", "docs"] } }\n',
    "super-table declared later": '[mcp_servers.docs]\ncommand = "npx"\nargs = ["-y", "docs"]\n\n'
    '[mcp_servers]\nfiles.command = "uvx"\n\n[tui]\nnotifications = true\n',
    "arrays of tables": '[[profiles]]\nname = "a"\n\n[mcp_servers.docs]\ncommand = "npx"\nargs = ["-y", "docs"]\n'
    '\n[[profiles]]\nname = "b"  # the second\n',
    "dotted keys in a table": '[mcp_servers]\ndocs.command = "npx"\ndocs.args = ["-y", "docs"]\n',
    "no final newline": '[mcp_servers.docs]\ncommand = "npx"\nargs = ["-y", "docs"]',
}


@pytest.mark.parametrize("shape", list(CODEX_SHAPES))
def test_codex_keeps_every_foreign_server_whatever_the_toml_shape(shape: str, tmp_path: Path) -> None:
    original = CODEX_SHAPES[shape]
    installed = _roundtrip("codex", tmp_path / "config.toml", original.encode())
    servers = tomllib.loads(installed.decode())["mcp_servers"]  # the TOML 1.0 reading Codex's toml crate does
    assert servers["analyst"] == {"command": "docker", "args": ANALYST.args}
    foreign = tomllib.loads(original)["mcp_servers"]
    assert {k: v for k, v in servers.items() if k != "analyst"} == foreign
    assert servers["docs"]["args"] == ["-y", "docs"], "the user's server keeps its arguments"


def test_codex_refuses_a_section_that_is_not_a_table_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    for content in ('[[mcp_servers]]\nname = "x"\n', "mcp_servers = [1]\n"):
        path.write_text(content)
        with pytest.raises(KitError, match="untouched"):
            apply_change(CLIENTS["codex"], path, [ANALYST], dry_run=False)
        assert path.read_text() == content


def test_a_link_is_written_through_and_stays_a_link(tmp_path: Path) -> None:
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    target = dotfiles / "claude.json"
    link = tmp_path / ".claude.json"
    link.symlink_to(target)
    original = b'{\n  "theme": "dark"\n}\n'
    target.write_bytes(original)
    apply_change(CLIENTS["claude-code"], link, [ANALYST], dry_run=False)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert "analyst" in json.loads(target.read_text())["mcpServers"]
    apply_change(CLIENTS["claude-code"], link, [], dry_run=False, uninstall=True)
    assert link.is_symlink() and target.read_bytes() == original


def test_crlf_line_endings_and_a_byte_order_mark_are_kept(tmp_path: Path) -> None:
    original = '\ufeff{\r\n  "mcpServers": {\r\n    "mine": {"command": "x"}\r\n  }\r\n}\r\n'.encode()
    installed = _roundtrip("cursor", tmp_path / "mcp.json", original)
    assert installed.startswith("\ufeff".encode()) and installed.count(b"\n") == installed.count(b"\r\n")
    yaml_original = "\ufeffextensions:\r\n  dev:\r\n    name: dev\r\n".encode()
    installed = _roundtrip("goose", tmp_path / "config.yaml", yaml_original)
    assert installed.count(b"\n") == installed.count(b"\r\n")
    toml_original = b'model = "o3"\r\n\r\n[mcp_servers.docs]\r\ncommand = "npx"\r\n'
    assert b"\r\n[mcp_servers.analyst]\r\n" in _roundtrip("codex", tmp_path / "config.toml", toml_original)


def test_a_file_that_is_not_utf8_is_refused_saying_so(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    path.write_bytes(b'{"a": "\xff"}')
    with pytest.raises(KitError, match="not UTF-8"):
        apply_change(CLIENTS["cursor"], path, [ANALYST], dry_run=False)


@pytest.mark.parametrize("name", ["cursor", "vscode", "codex", "goose", "continue"])
def test_an_empty_file_is_empty_again_after_uninstall(name: str, tmp_path: Path) -> None:
    _roundtrip(name, tmp_path / "config", b"")


def test_mode_owner_and_group_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    path.write_text("{}\n")
    path.chmod(0o640)
    owner = (12345, 23456) if os.geteuid() == 0 else (os.geteuid(), os.getegid())
    if os.geteuid() == 0:  # run with root rights (sudo kit config), the file stays the user's
        os.chown(path, *owner)
    apply_change(CLIENTS["cursor"], path, [ANALYST], dry_run=False)
    info = path.stat()
    assert stat.S_IMODE(info.st_mode) == 0o640 and (info.st_uid, info.st_gid) == owner
    (backup,) = files.backups(path)
    assert (
        stat.S_IMODE(backup.stat().st_mode) == 0o640 and (backup.stat().st_uid, backup.stat().st_gid) == owner
    )


def test_a_backup_is_never_wider_than_its_original(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "mcp.json"
    path.write_text('{"token": "secret"}\n')
    path.chmod(0o600)
    seen: list[int] = []
    real_open, real_write = os.open, os.write

    def watched_open(name: str, flags: int, mode: int = 0o777, *args: object) -> int:
        descriptor = real_open(name, flags, mode, *args)
        if str(name).endswith(".bak"):
            seen.append(stat.S_IMODE(os.fstat(descriptor).st_mode))  # before a byte is written
        return descriptor

    monkeypatch.setattr(files.os, "open", watched_open)
    apply_change(CLIENTS["cursor"], path, [ANALYST], dry_run=False)
    monkeypatch.setattr(files.os, "open", real_open)
    assert real_write and seen and all(mode & ~0o600 == 0 for mode in seen)
    (backup,) = files.backups(path)
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600


def test_backups_are_kept_to_a_few_and_uninstall_takes_the_kits_values_away(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    original = '{"theme": "dark"}\n'
    path.write_text(original)
    for value in range(6):
        entry = LaunchEntry(SECRET.name, SECRET.command, SECRET.args, {"TOKEN": f"value-{value}"})
        apply_change(CLIENTS["cursor"], path, [entry], dry_run=False)
    kept = files.backups(path)
    assert len(kept) == BACKUPS_KEPT == 3
    assert kept[0].read_text() == original, "the file as it was before the kit came is one of them"
    apply_change(CLIENTS["cursor"], path, [], dry_run=False, uninstall=True)
    assert [p.read_text() for p in files.backups(path)] == [original]
    assert not any("value-" in p.read_text() for p in tmp_path.iterdir())


def test_a_secret_in_a_file_others_can_read_is_warned_about_and_private_narrows_it(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    path.write_text("{}\n")
    path.chmod(0o644)
    change = apply_change(CLIENTS["cursor"], path, [SECRET], dry_run=False)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644, "not tightened unless asked"
    (warning,) = change.warnings
    assert "readable by other users" in warning and "TOKEN" in warning and "--private" in warning
    private = apply_change(CLIENTS["cursor"], path, [SECRET], dry_run=False, private=True)
    assert not private.warnings and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert all(stat.S_IMODE(p.stat().st_mode) & 0o077 == 0 for p in files.backups(path))
    assert not apply_change(CLIENTS["cursor"], path, [ANALYST], dry_run=False).warnings, (
        "no values, no warning"
    )


@pytest.mark.parametrize(
    ("name", "original"),
    [
        ("cursor", '{\n  "mcpServers": {}\n}\n'),
        ("vscode", '{\n\t"servers": {\n\t\t// my servers go here\n\t}\n}\n'),
        ("goose", "GOOSE_PROVIDER: openai\nextensions: {}\n"),
        ("goose", "extensions: {}  # none yet\nGOOSE_MODEL: null\n"),
        ("continue", "name: a\nversion: 1.0.0\nschema: v1\nmcpServers: []\n"),
        ("codex", "[mcp_servers]\n\n[tui]\nx = 1\n"),
    ],
)
def test_a_section_that_was_there_before_the_kit_is_there_after_it(
    name: str, original: str, tmp_path: Path
) -> None:
    _roundtrip(name, tmp_path / "config", original.encode())


def test_goose_keeps_null_anchors_aliases_and_their_comments(tmp_path: Path) -> None:
    original = (
        "GOOSE_MODEL: null\n"
        "defaults: &defaults  # shared by the extensions below\n"
        "  enabled: true\n"
        "  timeout: 300\n"
        "extensions:\n"
        "  developer: *defaults\n"
        "  memory: {name: memory, type: builtin, enabled: false}  # flow style\n"
        "  # my next one goes here\n"
        "other: ~\n"
    )
    installed = _roundtrip("goose", tmp_path / "config.yaml", original.encode()).decode()
    data = yaml.safe_load(installed)  # goose reads it with serde_yaml: plain YAML 1.2 mappings
    assert (
        data["extensions"]["analyst"]["cmd"] == "docker"
        and data["extensions"]["developer"] == data["defaults"]
    )
    assert data["GOOSE_MODEL"] is None and "GOOSE_MODEL: null\n" in installed
    assert "defaults: &defaults  # shared by the extensions below\n" in installed


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root rights, as `sudo kit config --install` has")
def test_a_new_file_made_with_root_rights_belongs_to_the_folders_owner(tmp_path: Path) -> None:
    folder = tmp_path / ".codex"
    folder.mkdir()
    os.chown(folder, 12345, 23456)
    apply_change(CLIENTS["codex"], folder / "config.toml", [ANALYST], dry_run=False)
    info = (folder / "config.toml").stat()
    assert (info.st_uid, info.st_gid) == (12345, 23456)


@pytest.mark.parametrize(
    ("name", "original"),
    [
        ("goose", "extensions: {developer: {name: developer, type: builtin}}  # one line\nGOOSE_MODE: ~\n"),
        (
            "goose",
            "extensions: {\n  developer: {name: 'it''s', type: builtin},  # mine\n  memory: {name: \"}\"}\n}\n",
        ),
        ("continue", "name: a\nmcpServers: [{name: mine, command: uvx, args: [mine]}]\nmodels: []\n"),
    ],
)
def test_a_section_in_flow_style_gets_the_entry_inside_its_brackets(
    name: str, original: str, tmp_path: Path
) -> None:
    installed = _roundtrip(name, tmp_path / "config.yaml", original.encode()).decode()
    data = yaml.safe_load(installed)
    section = data["extensions"] if name == "goose" else {s["name"]: s for s in data["mcpServers"]}
    assert section["analyst"]["args"] == ANALYST.args
    assert installed.count("\n") == original.count("\n"), "no line added or re-laid out"


def test_a_list_item_under_a_bare_dash_is_kept_and_a_damaged_list_refused_as_it_was(tmp_path: Path) -> None:
    """ruamel's guess of a file's indentation fails on a bare `-` line, and an item's mapping starts below its dash."""
    for items in (
        "-\n  name: mine\n  command: uvx\n",
        "- name: first\n-\n  # mine\n  name: mine\n  command: uvx\n",
    ):
        original = f"name: a\nmcpServers:\n{items}models: []\n"
        installed = _roundtrip("continue", tmp_path / "config.yaml", original.encode()).decode()
        assert {s["name"] for s in yaml.safe_load(installed)["mcpServers"]} >= {"mine", "analyst"}
    damaged = "name: a\nmcpServers:\n-\n name: mine\n  command: uvx\n"
    path = tmp_path / "damaged.yaml"
    path.write_text(damaged)
    with pytest.raises(KitError, match="not valid YAML"):
        apply_change(CLIENTS["continue"], path, [ANALYST], dry_run=False)
    assert path.read_text() == damaged
