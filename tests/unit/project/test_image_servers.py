"""Servers that come as an image: declared in mcpkit.toml with `image`, run as they are. The reference and the
command are someone else's text, so neither may become a `docker run` option."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from kit import identity
from kit.containers.launch import server_entry
from kit.errors import KitError
from kit.project.image_servers import default_name
from kit.project.servers import discover, select
from kit.project.settings import Settings
from kit.walls import image_reference


def _server(project: Path, table: str):  # type: ignore[no-untyped-def]
    (project / "mcpkit.toml").write_text(f"[servers.srv]\n{table}\n")
    (server,) = select(discover(Settings(project_dir=project)), ["srv"])
    return server


@pytest.mark.parametrize(
    "reference",
    [
        "mcp/git",
        "mcp/git:1.0",
        "localhost:5000/team/git:v2",
        "registry.example/a/b@sha256:" + "ab" * 32,
        "x__y-z",
    ],
)
def test_image_references_in_dockers_grammar_are_taken(reference: str) -> None:
    assert image_reference(reference) == reference


@pytest.mark.parametrize(
    "reference",
    ["--privileged", "-v", "mcp/git --privileged", "mcp/git\n", " mcp/git", "Mcp/git", "mcp//git", "mcp/git:",
     "mcp/git@sha256:abc", "a:b:c", "mcp/git;id", "", "mcp/git:-x", "../git"],
)  # fmt: skip
def test_anything_else_is_refused(reference: str) -> None:
    with pytest.raises(ValueError, match="not an image reference"):
        image_reference(reference)


def test_an_image_server_runs_its_image_in_the_same_walls_never_pulled(project: Path) -> None:
    server = _server(
        project, 'image = "mcp/git:1.0"\nargs = ["--repo", "/repo"]\nvolumes = { repo = "/repo" }'
    )
    assert (server.image, server.version, server.path, server.package) == ("mcp/git:1.0", "1.0", None, None)
    assert identity.image_tag(Settings(project_dir=project), server) == "mcp/git:1.0"
    entry = server_entry(Settings(project_dir=project), server)
    args = entry.args
    assert entry.image == "mcp/git:1.0"
    assert args[args.index("mcp/git:1.0") :] == ["mcp/git:1.0", "--repo", "/repo"], (
        "its arguments replace CMD"
    )
    assert args[args.index("--pull") : args.index("--pull") + 2] == ["--pull", "never"]
    for wall in ("--read-only", "--init"):
        assert wall in args
    assert ("--cap-drop", "ALL") in itertools.pairwise(args)
    assert ("--network", "none") in itertools.pairwise(args)


def test_a_declared_command_replaces_the_images_own(project: Path) -> None:
    server = _server(project, 'image = "srv:1"\ncommand = ["python3", "/srv/server.py"]\nargs = ["--x"]')
    args = server_entry(Settings(project_dir=project), server).args
    assert args[args.index("--entrypoint") :] == ["--entrypoint", "python3", "srv:1", "/srv/server.py", "--x"]


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ('image = "mcp/git --privileged"', "not an image reference"),
        ('image = "srv"\ncommand = ["--privileged"]', "command"),
        ('image = "srv"\ncommand = ["sh -c id"]', "command"),
        ('image = "srv"\nargs = ["--dsn", "${DSN}"]', "only images the kit builds"),
        ('image = "srv"\nargs = ["$${DSN}"]', "only images the kit builds"),
        ('image = "srv"\npins = ["mcp<2"]\npython = "3.13"', "pins, python: not for a prebuilt image"),
        ('image = "srv"\nsystem-packages = ["git"]', "system-packages: not for a prebuilt image"),
        ('image = "srv"\nmodule = "x"', "module: not for a prebuilt image"),
        ('image = "srv"\nfiles = { "/opt/m" = "./m" }', "files: not for a prebuilt image"),
        ('image = "srv"\npackage = "x"', "both a package and an image"),
    ],
)
def test_an_image_servers_table_says_what_is_wrong(project: Path, table: str, problem: str) -> None:
    with pytest.raises(KitError, match=problem):
        _server(project, table)


def test_a_default_name_comes_from_the_images_path() -> None:
    assert default_name("mcp/git:1.0") == "git"
    assert default_name("registry.example/team/mcp-server-fetch@sha256:" + "0" * 64) == "fetch"
    with pytest.raises(ValueError, match="not an image reference"):
        default_name("-v")
