"""`kit secret`: values kept where no client config, backup, image or command line holds them, and entries that
take them from there at each start."""

from __future__ import annotations

from pathlib import Path

import platformdirs
import pytest

from kit import secrets
from kit.containers.launch import image_of, launch_entries
from kit.errors import KitError
from kit.identity import image_tag
from kit.project.servers import discover, select
from kit.project.settings import load_settings

VALUE = "postgresql://analyst:Tr0ub4dor@db/shop"


@pytest.fixture(autouse=True)
def file_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never the developer's own keyring: the encrypted file, in this test's temporary home."""
    monkeypatch.setenv("KIT_SECRET_BACKEND", "file")


def test_a_secret_is_stored_encrypted_and_read_back(tmp_path: Path) -> None:
    assert secrets.set_secret("ANALYST_DATABASE_URL", VALUE).startswith("encrypted file")
    assert secrets.get_secret("ANALYST_DATABASE_URL") == VALUE
    assert secrets.names() == ["ANALYST_DATABASE_URL"]
    folder = Path(platformdirs.user_data_dir("mcpkit")) / "secrets"
    for file in folder.iterdir():
        assert VALUE.encode() not in file.read_bytes(), file
        assert file.stat().st_mode & 0o077 == 0, f"{file} is readable by others"
    assert secrets.delete_secret("ANALYST_DATABASE_URL")
    assert secrets.names() == [] and secrets.get_secret("ANALYST_DATABASE_URL") is None


@pytest.mark.parametrize("name", ["A B", "1X", "X=Y", ""])
def test_a_secret_is_named_like_a_variable(name: str) -> None:
    with pytest.raises(KitError):
        secrets.set_secret(name, "v")


def test_launch_names_the_secret_that_is_missing() -> None:
    with pytest.raises(KitError, match="MISSING_ONE not stored") as caught:
        secrets.launch_environment(["MISSING_ONE"])
    assert caught.value.hint == "`kit secret set MISSING_ONE`"


def test_an_entry_takes_a_stored_secret_at_start_and_holds_no_value(project: Path) -> None:
    secrets.set_secret("ANALYST_DATABASE_URL", VALUE)
    settings = load_settings({}, cwd=project)
    analyst = select(discover(settings), ["analyst"])
    (entry,) = launch_entries(settings, analyst)
    assert entry.command.endswith("kit")
    assert entry.args[:4] == ["launch", "--secret", "ANALYST_DATABASE_URL", "--"]
    assert entry.args[4] == "docker" and entry.args[5] == "run"
    assert entry.args[entry.args.index("-e") : entry.args.index("-e") + 2] == ["-e", "ANALYST_DATABASE_URL"]
    assert VALUE not in str(entry), "the value is in no entry"
    assert image_of(entry.args) == entry.image == image_tag(settings, analyst[0])
    (given,) = launch_entries(settings, analyst, {"ANALYST_DATABASE_URL": "sqlite:///x"})
    assert given.command == "docker", "a value given on the command line is used as given"
