"""What of a server's folder reaches its image: its package, never the secrets and clutter kept beside it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kit.errors import KitError
from kit.project.sources import copy_sources, source_files, source_hash

KEPT = ["pyproject.toml", "srv/__init__.py", "srv/server.py", "srv/data/table.csv", "README.md"]
LEFT_OUT = [
    ".env", ".env.local", "srv/.env", "id_rsa", "srv/id_ed25519.pub", "deploy/key.pem", "srv/tls.key",
    ".git/config", ".venv/bin/python", "srv/__pycache__/server.cpython-311.pyc", "tests/test_srv.py",
    "mcp-schema.lock.json", ".netrc", ".aws/credentials", "dist/srv-1.0.whl", "srv.egg-info/PKG-INFO",
    ".pytest_cache/v/x", "credentials.json",
]  # fmt: skip


def _folder(tmp_path: Path, files: list[str]) -> Path:
    folder = tmp_path / "srv-folder"
    for name in files:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(f"content of {name}\n")
    return folder


def test_secrets_vcs_caches_and_tests_stay_out_of_the_image(tmp_path: Path) -> None:
    folder = _folder(tmp_path, KEPT + LEFT_OUT)
    assert sorted(p.relative_to(folder).as_posix() for p in source_files(folder)) == sorted(KEPT)
    copied = copy_sources(folder, tmp_path / "copy")
    assert sorted(p.relative_to(copied).as_posix() for p in copied.rglob("*") if p.is_file()) == sorted(KEPT)


@pytest.mark.parametrize("ignore_file", [".dockerignore", ".mcpkitignore"])
def test_the_folders_own_ignore_file_is_honoured(tmp_path: Path, ignore_file: str) -> None:
    folder = _folder(tmp_path, [*KEPT, "srv/big-model.bin", "notes/todo.txt"])
    (folder / ignore_file).write_text("*.bin\nnotes/\n# a comment\n")
    names = {p.relative_to(folder).as_posix() for p in source_files(folder)}
    assert names == set(KEPT)


def test_a_link_leading_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    folder = _folder(tmp_path, KEPT)
    outside = tmp_path / "host-secret.txt"
    outside.write_text("the host's")
    os.symlink(outside, folder / "srv" / "innocent.txt")
    with pytest.raises(KitError, match="outside the server's folder"):
        source_files(folder)
    os.remove(folder / "srv" / "innocent.txt")
    os.symlink("/etc", folder / "srv" / "etc")
    with pytest.raises(KitError, match="outside the server's folder"):
        source_files(folder)


def test_a_link_inside_the_folder_is_copied_as_its_content(tmp_path: Path) -> None:
    folder = _folder(tmp_path, KEPT)
    os.symlink("server.py", folder / "srv" / "alias.py")
    copied = copy_sources(folder, tmp_path / "copy")
    assert not (copied / "srv" / "alias.py").is_symlink()
    assert (copied / "srv" / "alias.py").read_text() == "content of srv/server.py\n"


def test_the_source_hash_ignores_what_stays_out_and_follows_what_goes_in(tmp_path: Path) -> None:
    folder = _folder(tmp_path, KEPT)
    before = source_hash(folder)
    (folder / ".env").write_text("TOKEN=1")
    assert source_hash(folder) == before
    (folder / "srv" / "server.py").write_text("changed")
    assert source_hash(folder) != before
