from pathlib import Path

import pytest

from kit.errors import KitError
from kit.project import locks
from kit.project.servers import discover, load_server, select
from kit.project.settings import Settings, load_settings
from kit.project.sources import source_hash


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


def _settings(root: Path) -> Settings:
    return load_settings({}, cwd=root)


def test_every_server_folder_is_discovered(project: Path) -> None:
    assert [s.name for s in discover(_settings(project))] == ["analyst", "mailer"]


def test_select_names_unknown_servers_and_lists_known_ones(project: Path) -> None:
    servers = discover(_settings(project))
    with pytest.raises(KitError, match="unknown server") as caught:
        select(servers, ["nope"])
    assert "analyst" in (caught.value.hint or "")
    assert select(servers, []) == servers


def test_a_folder_that_is_no_project_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(KitError, match="no mcpkit project") as caught:
        discover(_settings(tmp_path))
    assert "kit init" in (caught.value.hint or "")


MANIFEST = """\
# my servers
[kit]
image_prefix = "acme"

[servers.time]  # the clock
package = "mcp-server-time==2026.10.19"
args = ["--local-timezone", "UTC"]

[servers.sqlite]
package = "mcp-server-sqlite"
pins = ["mcp<2"]
script = "mcp-server-sqlite"
volumes = { data = "/data" }
[servers.sqlite.limits]
memory = "256m"
"""


def test_package_index_servers_come_from_the_manifest_after_the_folders(project: Path) -> None:
    (project / "mcpkit.toml").write_text(MANIFEST)
    servers = {s.name: s for s in discover(_settings(project))}
    assert list(servers) == ["analyst", "mailer", "time", "sqlite"]
    time = servers["time"]
    assert (time.package, time.distribution, time.version, time.path) == (
        "mcp-server-time==2026.10.19", "mcp-server-time", "2026.10.19", None,
    )  # fmt: skip
    assert time.declaration.args == ["--local-timezone", "UTC"] and time.declaration.start is None
    sqlite = servers["sqlite"]
    assert sqlite.version == "unlocked", "no pin and no lock yet"
    assert sqlite.declaration.pins == ["mcp<2"] and sqlite.declaration.limits.memory == "256m"
    assert "[servers.sqlite] in" in sqlite.where


def test_an_index_server_takes_its_version_from_its_lock(project: Path) -> None:
    (project / "mcpkit.toml").write_text(MANIFEST)
    locks.write(locks.lock_path(project, "sqlite"), locks.Lock("sqlite", "CPython 3.11", "f" * 64, [
        locks.LockedPackage("mcp_server_sqlite", "2025.4.25", "a" * 64, "mcp_server_sqlite-2025.4.25-py3-none-any.whl"),
    ]))  # fmt: skip
    (sqlite,) = select(discover(_settings(project)), ["sqlite"])
    assert sqlite.version == "2025.4.25"


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ('package = "x"\nmodule = "a"\nscript = "b"', "not module and script"),
        ('package = "not a requirement!"', "invalid requirement"),
        ('package = "x"\npins = ["mcp<<2"]', "invalid requirement"),
        ('package = "x"\nfunction = "no_colon"', "function"),
        ('package = "x"\nsecrets = ["API KEY"]', "API KEY"),
        ('package = "x"\nvolumes = { data = "relative" }', "absolute"),
        ('script = "x"', "package"),
    ],
)
def test_invalid_manifest_entries_say_what_is_wrong(project: Path, table: str, problem: str) -> None:
    (project / "mcpkit.toml").write_text(f"[servers.bad]\n{table}\n")
    with pytest.raises(KitError, match=problem) as caught:
        discover(_settings(project))
    assert "[servers.bad]" in caught.value.message


def test_a_name_used_by_a_folder_and_the_manifest_is_refused(project: Path) -> None:
    (project / "mcpkit.toml").write_text('[servers.analyst]\npackage = "x"\n')
    with pytest.raises(KitError, match="both a folder"):
        discover(_settings(project))


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


def test_variables_named_in_arguments_are_secrets_unless_listed_as_settings(project: Path) -> None:
    (project / "mcpkit.toml").write_text(
        '[servers.pg]\npackage = "x"\nargs = ["--dsn", "${PG_DSN}", "--user=${PG_USER}", "$${LITERAL}"]\n'
        'env = ["PG_USER"]\nsecrets = ["PG_DSN"]\n'
    )
    (pg,) = select(discover(_settings(project)), ["pg"])
    assert pg.declaration.arg_variables == ["PG_DSN", "PG_USER"]
    assert pg.secret_names == ["PG_DSN"] and pg.passed_env == ["PG_USER", "PG_DSN"], "each name once"
