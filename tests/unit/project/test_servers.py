from pathlib import Path

import pytest

from kit.errors import KitError
from kit.project.servers import discover, load_server, select, source_hash


def _write_server(folder: Path, tool_table: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "pyproject.toml").write_text(f'[project]\nname = "demo"\nversion = "1.2.3"\n\n{tool_table}\n')
    return folder


def test_discovers_the_analyst_with_its_declaration(project: Path) -> None:
    analyst = load_server(project / "servers" / "analyst")
    assert analyst.name == "analyst"
    assert analyst.declaration.module == "analyst"
    assert analyst.declaration.network is False
    assert "ANALYST_DATABASE_URL" in analyst.declaration.secrets
    assert analyst.passed_env[: len(analyst.declaration.env)] == analyst.declaration.env
    assert {"ANALYST_ROW_LIMIT", "ANALYST_DATABASE_URL"} <= set(analyst.passed_env)


def test_server_without_mcpkit_table_is_refused(tmp_path: Path) -> None:
    folder = _write_server(tmp_path / "plain", "")
    with pytest.raises(KitError, match=r"no \[tool.mcpkit\] table"):
        load_server(folder)


def test_unknown_declaration_key_is_refused(tmp_path: Path) -> None:
    folder = _write_server(tmp_path / "typo", '[tool.mcpkit]\nmodule = "x"\nnetwrok = true\n')
    with pytest.raises(KitError, match="netwrok"):
        load_server(folder)


def test_invalid_environment_variable_name_is_refused(tmp_path: Path) -> None:
    folder = _write_server(tmp_path / "bad", '[tool.mcpkit]\nmodule = "x"\nsecrets = ["API KEY"]\n')
    with pytest.raises(KitError, match="API KEY"):
        load_server(folder)


def test_every_server_folder_is_discovered(project: Path) -> None:
    assert [s.name for s in discover(project / "servers")] == ["analyst", "mailer"]


def test_select_names_unknown_servers_and_lists_known_ones(project: Path) -> None:
    servers = discover(project / "servers")
    with pytest.raises(KitError, match="unknown server") as caught:
        select(servers, ["nope"])
    assert "analyst" in (caught.value.hint or "")
    assert select(servers, []) == servers


def test_missing_servers_folder_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(KitError, match="no servers folder") as caught:
        discover(tmp_path / "servers")
    assert "KIT_SERVERS_DIR" in (caught.value.hint or "")


def test_source_hash_follows_content_and_ignores_bytecode(project: Path) -> None:
    folder = project / "servers" / "analyst"
    before = source_hash(folder)
    (folder / "analyst" / "__pycache__").mkdir(exist_ok=True)
    (folder / "analyst" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"junk")
    assert source_hash(folder) == before
    (folder / "analyst" / "server.py").write_text(
        (folder / "analyst" / "server.py").read_text() + "\n# changed\n"
    )
    assert source_hash(folder) != before
