"""`kit init` and `kit new`: what they create, what they refuse, and that a new server is sound as generated."""

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from kit.errors import KitError
from kit.identity import project_slug
from kit.project.scaffold import init_project, new_server
from kit.project.servers import discover
from kit.project.settings import load_settings

REPO = Path(__file__).resolve().parents[3]


def _new_project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    init_project(root)
    return root


def test_init_creates_manifest_servers_folder_and_gitignore(tmp_path: Path) -> None:
    created = init_project(tmp_path / "fresh" / "proj")
    names = {p.relative_to(created.root).as_posix() for p in created.files}
    assert names == {"mcpkit.toml", "servers/.gitkeep", ".gitignore"}
    assert "kit" in tomllib.loads((created.root / "mcpkit.toml").read_text())


def test_init_refuses_an_existing_project_and_keeps_its_gitignore(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("mine\n")
    init_project(tmp_path)
    assert (tmp_path / ".gitignore").read_text() == "mine\n"
    with pytest.raises(KitError, match="already an mcpkit project"):
        init_project(tmp_path)


def test_new_server_is_discovered_with_its_declaration(tmp_path: Path) -> None:
    root = _new_project(tmp_path)
    settings = load_settings({}, cwd=root)
    new_server(settings, "crm-search")
    (server,) = discover(settings)
    assert (server.name, server.version, server.declaration.module) == ("crm-search", "0.1.0", "crm_search")
    assert (server.path / "crm_search" / "__main__.py").is_file()
    assert (
        f"mcpkit/{project_slug(server.project_dir)}/crm-search:0.1.0"
        in (server.path / "README.md").read_text()
    )


@pytest.mark.parametrize("name", ["Hello", "1st", "a_b", "x" * 41, "../up", "", "a-", "web-"])
def test_new_refuses_names_that_cannot_be_images_and_packages(tmp_path: Path, name: str) -> None:
    with pytest.raises(KitError, match="invalid server name"):
        new_server(load_settings({}, cwd=_new_project(tmp_path)), name)


def test_new_refuses_an_existing_folder_and_a_folder_that_is_no_project(tmp_path: Path) -> None:
    settings = load_settings({}, cwd=_new_project(tmp_path))
    new_server(settings, "hello")
    with pytest.raises(KitError, match="already exists"):
        new_server(settings, "hello")
    (tmp_path / "bare").mkdir()
    with pytest.raises(KitError, match="not an mcpkit project") as caught:
        new_server(load_settings({}, cwd=tmp_path / "bare"), "hello")
    assert "kit init" in (caught.value.hint or "")


def test_the_generated_server_passes_ruff_and_its_own_tests(tmp_path: Path) -> None:
    settings = load_settings({}, cwd=_new_project(tmp_path))
    folder = new_server(settings, "hello-world").root
    for check in (["check", "--no-cache", "."], ["format", "--check", "--no-cache", "."]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *check], cwd=folder, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr
    # Its own test, as its README runs it (the runtime and the SDK come from this environment).
    env = {**os.environ, "PYTHONPATH": str(folder)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(folder)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


def test_init_on_a_file_says_so(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(KitError, match="exists and is not a folder"):
        init_project(tmp_path / "notes.txt")
