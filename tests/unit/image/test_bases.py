"""The base each server is built on. The package index is replaced by recorded answers (the unit tier has no
network): files as PyPI's simple API lists them."""

from pathlib import Path

import pytest

from kit.errors import KitError
from kit.image import bases, index_servers, resolution
from kit.project.servers import load_index_server
from kit.project.settings import load_settings
from kit.reporting import SilentReporter

FILES = [
    {"filename": "db_mcp-0.1.0-py3-none-any.whl", "requires-python": ">=3.10"},
    {"filename": "db_mcp-0.3.0-py3-none-any.whl", "requires-python": ">=3.12"},
    {"filename": "db_mcp-0.3.0.tar.gz", "requires-python": ">=3.12"},
    {"filename": "db_mcp-0.4.0rc1-py3-none-any.whl", "requires-python": ">=3.14"},
    {"filename": "db_mcp-0.5.0-py3-none-any.whl", "requires-python": ">=3.14", "yanked": True},
]


@pytest.fixture
def index(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resolution, "index_files", lambda name: FILES if name == "db-mcp" else None)


def test_a_declared_python_picks_the_kit_base_of_its_debian_suite(tmp_path: Path) -> None:
    settings = load_settings({}, cwd=tmp_path)
    server = load_index_server(tmp_path, "db", {"package": "db-mcp", "python": "3.13"})
    assert bases.server_settings(settings, server).base_image == "mcpkit/base:trixie"
    assert bases.server_settings(settings, server).debian_suite == "trixie"
    plain = load_index_server(tmp_path, "time", {"package": "mcp-server-time"})
    assert bases.server_settings(settings, plain) is settings
    standard = load_settings({"KIT_BASE_IMAGE": "python:3.11-slim"}, cwd=tmp_path)
    assert bases.server_settings(standard, server).base_image == "python:3.13-slim"
    with pytest.raises(KitError, match="no Debian suite"):
        bases.server_settings(settings, load_index_server(tmp_path, "x", {"package": "x", "python": "3.12"}))


def test_the_newest_release_and_the_python_it_needs(index: None) -> None:
    assert bases.python_needed("db-mcp", "3.11") == ("0.3.0", ">=3.12")
    assert bases.python_needed("db-mcp", "3.13") is None
    assert bases.python_needed("db-mcp<0.2", "3.11") is None
    assert bases.python_for(">=3.12") == "3.13" and bases.python_for(">=3.14") is None


def test_kit_add_builds_on_the_base_that_takes_the_newest_release_instead_of_an_older_one(
    index: None, tmp_path: Path
) -> None:
    settings = load_settings({}, cwd=tmp_path)
    table = index_servers._with_the_python_it_needs(settings, {"package": "db-mcp"}, "3.11", SilentReporter())
    assert table == {"package": "db-mcp", "python": "3.13"}
    standard = load_settings({"KIT_BASE_IMAGE": "python:3.11-slim"}, cwd=tmp_path)
    kept = index_servers._with_the_python_it_needs(standard, {"package": "db-mcp"}, "3.11", SilentReporter())
    assert kept == {"package": "db-mcp"}, "no kit base to switch to: the resolver's older release, said aloud"
