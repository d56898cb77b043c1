"""The CLI driven in-process. Docker is made unreachable on purpose where a command must cope without it."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from kit.cli import app
from kit.cli.params import assignments
from kit.identity import project_slug

runner = CliRunner()


@pytest.fixture
def in_project(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(project)
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    return project


def test_config_prints_the_claude_desktop_entries(in_project: Path) -> None:
    result = runner.invoke(app, ["config", "--client", "claude-desktop"])
    assert result.exit_code == 0, result.output
    entry = json.loads(result.stdout)["mcpServers"]["analyst"]
    assert (
        entry["command"] == "docker"
        and entry["args"][-1] == f"mcpkit/{project_slug(in_project)}/analyst:0.1.0"
    )


def test_config_output_writes_the_file_and_reports_it(in_project: Path) -> None:
    target = in_project / "out" / "claude_desktop_config.json"
    result = runner.invoke(app, ["config", "--output", str(target), "--env", "ANALYST_ROW_LIMIT=5"])
    assert result.exit_code == 0, result.output
    assert "added analyst" in result.stderr
    assert json.loads(target.read_text())["mcpServers"]["analyst"]["env"] == {"ANALYST_ROW_LIMIT": "5"}


def test_install_merges_into_the_clients_own_file(in_project: Path, tmp_path: Path) -> None:
    path = tmp_path / "home" / ".config" / "Claude" / "claude_desktop_config.json"
    path.parent.mkdir(parents=True)
    path.write_text('{"mcpServers": {"other": {"command": "x"}}}')
    result = runner.invoke(app, ["config", "--install"])
    assert result.exit_code == 0, result.output
    assert set(json.loads(path.read_text())["mcpServers"]) == {"other", "analyst", "mailer"}


def test_dry_run_prints_a_diff_and_writes_nothing(in_project: Path) -> None:
    target = in_project / "claude_desktop_config.json"
    result = runner.invoke(app, ["config", "--output", str(target), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert '"analyst"' in result.stdout and "nothing was written" in result.stderr
    assert not target.exists()


def test_malformed_config_gives_a_clear_error_without_traceback(in_project: Path) -> None:
    target = in_project / "claude_desktop_config.json"
    target.write_text('{"mcpServers": ')
    result = runner.invoke(app, ["config", "--output", str(target)])
    assert result.exit_code == 1
    assert "not valid JSON" in result.stderr and "Traceback" not in result.output
    assert target.read_text() == '{"mcpServers": '


@pytest.mark.parametrize("target", ["compose", "k8s"])
def test_a_bad_gateway_table_stops_a_deployment_before_any_build(in_project: Path, target: str) -> None:
    manifest = in_project / "mcpkit.toml"
    manifest.write_text('[gateway]\nstart = "sometimes"\n')
    result = runner.invoke(app, ["deploy", target, "-o", str(in_project / "out")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "invalid [gateway]" in result.stderr and "start" in result.stderr
    assert not (in_project / "out").exists()


def test_the_gateway_entry_refuses_a_variable_no_server_takes(in_project: Path) -> None:
    target = in_project / "claude_desktop_config.json"
    result = runner.invoke(
        app, ["config", "--gateway", "--output", str(target), "--env", "ANALYST_ROW_LIMT=5"]
    )
    assert result.exit_code == 1 and "no selected server takes ANALYST_ROW_LIMT" in result.stderr
    assert not target.exists()
    taken = runner.invoke(
        app, ["config", "--gateway", "--output", str(target), "--env", "ANALYST_ROW_LIMIT=5"]
    )
    assert taken.exit_code == 0, taken.output
    (entry,) = json.loads(target.read_text())["mcpServers"].values()
    assert entry["env"]["ANALYST_ROW_LIMIT"] == "5"


def test_unknown_server_and_client_are_user_errors(in_project: Path) -> None:
    unknown_server = runner.invoke(app, ["config", "nope"])
    assert unknown_server.exit_code == 1 and "known servers: analyst" in unknown_server.stderr
    unknown_client = runner.invoke(app, ["config", "--client", "notepad"])
    assert unknown_client.exit_code == 1 and "claude-desktop" in unknown_client.stderr


def test_list_without_docker_still_lists_servers_as_unknown(in_project: Path) -> None:
    result = runner.invoke(app, ["list", "--json"])
    assert result.exit_code == 0, result.output
    servers = {s["name"]: s for s in json.loads(result.stdout)}
    analyst = servers["analyst"]
    assert set(servers) == {"analyst", "mailer"} and analyst["state"] == "unknown"
    assert {"ANALYST_ROW_LIMIT", "ANALYST_DATABASE_URL"} <= set(analyst["env"])


def test_build_without_docker_says_how_to_fix_it(in_project: Path) -> None:
    result = runner.invoke(app, ["build"])
    assert result.exit_code == 1
    assert "cannot reach the Docker engine" in result.stderr and "DOCKER_HOST" in result.stderr
    assert "Traceback" not in result.output


def test_env_reports_effective_settings_as_json(in_project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIT_BASE_IMAGE", "python:3.12-slim")
    result = runner.invoke(app, ["env", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["KIT_BASE_IMAGE"] == {
        **rows["KIT_BASE_IMAGE"],
        "value": "python:3.12-slim",
        "source": "environment",
    }


def test_no_kit_variable_of_the_shell_running_the_tests_reaches_them(in_project: Path) -> None:
    """tests/conftest.py removes one KIT_* variable per setting: run under `KIT_CACHE_DIR=... pytest`, this fails
    if a setting is added without being isolated."""
    result = runner.invoke(app, ["env", "--json"])
    assert result.exit_code == 0, result.output
    assert {r["name"]: r["source"] for r in json.loads(result.stdout) if r["source"] != "default"} == {}


def test_version_option() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.startswith("mcpkit ")


def test_logs_needs_a_known_server_and_says_when_docker_is_missing(in_project: Path) -> None:
    unknown = runner.invoke(app, ["logs", "nope"])
    assert unknown.exit_code == 1 and "unknown server" in unknown.stderr
    no_docker = runner.invoke(app, ["logs", "analyst"])
    assert no_docker.exit_code == 1 and "cannot reach the Docker engine" in no_docker.stderr


def test_help_shows_no_type_placeholders() -> None:
    for command in ([], ["build"], ["config"], ["new"]):
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0 and "<bool>" not in result.output


def test_error_messages_keep_their_brackets(in_project: Path) -> None:
    (in_project / "servers" / "mailer" / "pyproject.toml").write_text(
        '[project]\nname = "m"\nversion = "1"\n'
    )
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 1
    assert "has no [tool.mcpkit] table" in result.stderr


def test_init_new_and_remove_report_what_they_did_as_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    initialised = runner.invoke(app, ["init", "proj", "--json"])
    assert initialised.exit_code == 0, initialised.output
    assert json.loads(initialised.stdout)["root"] == str(tmp_path / "proj")
    monkeypatch.chdir(tmp_path / "proj")
    created = runner.invoke(app, ["new", "hello", "--json"])
    assert created.exit_code == 0, created.output
    assert str(tmp_path / "proj/servers/hello/hello/server.py") in json.loads(created.stdout)["files"]
    with (tmp_path / "proj" / "mcpkit.toml").open("a") as manifest:
        manifest.write('\n[servers.time]\npackage = "mcp-server-time==2026.10.19"\n')
    (tmp_path / "proj" / "locks").mkdir()
    (tmp_path / "proj" / "locks" / "time.lock").write_text("")
    removed = runner.invoke(app, ["remove", "time", "--json"])
    assert removed.exit_code == 0, removed.output
    assert json.loads(removed.stdout) == [
        str(tmp_path / "proj" / "mcpkit.toml"),
        str(tmp_path / "proj" / "locks" / "time.lock"),
    ]


def test_an_unexpected_error_exits_70_and_verbose_shows_its_traceback(
    in_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr("kit.project.settings.describe_settings", broken)
    quiet = runner.invoke(app, ["env"])
    assert quiet.exit_code == 70 and "Traceback" not in quiet.output
    assert "unexpected error: ZeroDivisionError: a bug" in quiet.stderr and "--verbose" in quiet.stderr
    loud = runner.invoke(app, ["--verbose", "env"])
    assert isinstance(loud.exception, ZeroDivisionError)


def test_name_value_options_take_values_or_copy_them_from_the_shell() -> None:
    shell = {"B": "from-shell"}
    assert assignments(["A=1", "B", "C="], "--env", "NAME=VALUE", shell) == {
        "A": "1",
        "B": "from-shell",
        "C": "",
    }
    assert assignments(["URL=a=b"], "--env", "NAME=VALUE", {}) == {"URL": "a=b"}
    assert assignments(["outbox=/srv/out"], "--volume", "NAME=/folder") == {"outbox": "/srv/out"}
    for options, environ in ((["MISSING"], {}), (["outbox"], None), (["outbox="], None), (["=x"], None)):
        with pytest.raises(typer.BadParameter):
            assignments(options, "--x", "NAME=VALUE", environ)


@pytest.mark.parametrize(
    "arguments",
    [
        ["config", "--env", "ANALYST_ROW_LIMIT"],
        ["config", "--volume", "outbox"],
        ["gateway", "--label", "io.example.team"],
        ["add", "mcp-server-time", "--volume", "data"],
    ],
)
def test_a_malformed_name_value_option_is_a_usage_error_before_anything_runs(
    in_project: Path, arguments: list[str]
) -> None:
    result = runner.invoke(app, arguments)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert arguments[-2] in result.output


def test_importing_the_cli_loads_neither_the_sdks_nor_the_kits_core() -> None:
    """What `kit --version` and `kit --help` pay for: the commands import the rest when they run."""
    heavy = ["mcp", "docker", "cyclonedx", "pydantic", "rich", "kit.image", "kit.clients", "kit.containers"]
    probe = f"import sys, kit.cli; print([m for m in {heavy!r} if m in sys.modules])"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


def test_init_and_new_scaffold_a_project_from_anywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["init", "proj"]).exit_code == 0
    monkeypatch.chdir(tmp_path / "proj")
    result = runner.invoke(app, ["new", "hello"])
    assert result.exit_code == 0, result.output
    assert "servers/hello/hello/server.py" in result.stdout
    listed = runner.invoke(app, ["list", "--json"], env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert [s["name"] for s in json.loads(listed.stdout)] == ["hello"]


def _detected(home: Path, *folders: str) -> None:
    for folder in folders:
        (home / folder).mkdir(parents=True, exist_ok=True)


def test_clients_lists_every_supported_client_with_its_file_and_entries(
    in_project: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    _detected(home, ".codex")
    runner.invoke(app, ["config", "--client", "codex", "--install", "analyst"])
    result = runner.invoke(app, ["clients", "--json"])
    assert result.exit_code == 0, result.output
    clients = {c["name"]: c for c in json.loads(result.stdout)}
    assert len(clients) >= 14
    assert clients["codex"]["installed"] and clients["codex"]["kit_entries"] == ["analyst"]
    assert clients["codex"]["path"] == str(home / ".codex" / "config.toml")
    assert not clients["goose"]["installed"] and clients["vscode"]["project_path"].endswith(
        ".vscode/mcp.json"
    )


def test_config_for_all_detected_clients_shows_each_diff_and_writes_nothing(
    in_project: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    _detected(home, ".cursor", ".config/goose", ".gemini")
    result = runner.invoke(app, ["config", "--client", "all", "--install", "--dry-run", "analyst"])
    assert result.exit_code == 0, result.output
    for path in (".cursor/mcp.json", ".config/goose/config.yaml", ".gemini/settings.json"):
        assert f"+++ {home / path}" in result.stdout
        assert not (home / path).exists()
    assert "nothing was written" in result.stderr


def test_install_then_uninstall_for_all_detected_clients(in_project: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    _detected(home, ".cursor", ".codex")
    (home / ".codex" / "config.toml").write_text('model = "o4"  # mine\n')
    installed = runner.invoke(app, ["config", "--client", "all", "--install", "--json"])
    assert installed.exit_code == 0, installed.output
    assert {c["client"]: c["added"] for c in json.loads(installed.stdout)} == {
        "cursor": ["analyst", "mailer"], "codex": ["analyst", "mailer"],
    }  # fmt: skip
    removed = runner.invoke(app, ["config", "--client", "all", "--uninstall", "--json"])
    assert removed.exit_code == 0, removed.output
    assert {c["client"]: sorted(c["removed"]) for c in json.loads(removed.stdout)} == {
        "cursor": ["analyst", "mailer"], "codex": ["analyst", "mailer"],
    }  # fmt: skip
    assert (home / ".codex" / "config.toml").read_text() == 'model = "o4"  # mine\n'


def test_project_scope_writes_into_the_project(in_project: Path) -> None:
    result = runner.invoke(
        app, ["config", "--client", "vscode", "--scope", "project", "--install", "analyst"]
    )
    assert result.exit_code == 0, result.output
    assert "analyst" in json.loads((in_project / ".vscode" / "mcp.json").read_text())["servers"]
    refused = runner.invoke(app, ["config", "--client", "windsurf", "--scope", "project", "--install"])
    assert refused.exit_code == 1 and "no project scope" in refused.stderr


def test_all_clients_on_a_machine_with_none_says_so(in_project: Path) -> None:
    result = runner.invoke(app, ["config", "--client", "all", "--install"])
    assert result.exit_code == 1 and "no supported client is installed" in result.stderr


def test_add_image_records_a_prebuilt_server_whose_entry_runs_it_as_it_is(in_project: Path) -> None:
    (in_project / "mcpkit.toml").write_text("[kit]\n")
    added = runner.invoke(
        app, ["add", "--image", "acme/git-srv:1.2", "git", "--command", "python3", "--volume", "repo=/repo",
              "--json", "--", "/srv/server.py", "--repo", "/repo"],
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)["present"] is None, "the engine is unreachable here: not known"
    manifest = (in_project / "mcpkit.toml").read_text()
    assert 'image = "acme/git-srv:1.2"' in manifest and 'command = ["python3"]' in manifest
    entry = json.loads(runner.invoke(app, ["config", "git", "--client", "claude-desktop"]).stdout)[
        "mcpServers"
    ]["git"]
    args = entry["args"]
    assert args[args.index("--entrypoint") :] == ["--entrypoint", "python3", "acme/git-srv:1.2", "/srv/server.py",
                                                  "--repo", "/repo"]  # fmt: skip
    assert "--pull" in args and "--read-only" in args
    listed = {s["name"]: s for s in json.loads(runner.invoke(app, ["list", "--json"]).stdout)}
    assert (
        listed["git"]["source"] == "image acme/git-srv:1.2" and listed["git"]["image"] == "acme/git-srv:1.2"
    )


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        (["--image", "acme/srv --privileged", "srv"], "not an image reference"),
        (["--image", "-v", "srv"], "not an image reference"),
        (["--image", "acme/srv", "srv", "--", "--dsn", "${DSN}"], "only images the kit builds"),
        (["--image", "acme/srv", "srv", "--pin", "mcp<2"], "pins: not for a prebuilt image"),
        (["--image", "acme/srv", "srv", "--name", "other"], "not both"),
        (["mcp-server-time", "--command", "x"], "--command goes with --image"),
    ],
)
def test_add_image_refuses_what_would_not_run_as_it_is(
    in_project: Path, arguments: list[str], problem: str
) -> None:
    (in_project / "mcpkit.toml").write_text("[kit]\n")
    result = runner.invoke(app, ["add", *arguments])
    assert result.exit_code != 0 and problem in " ".join(result.output.split()), result.output
    assert "srv" not in (in_project / "mcpkit.toml").read_text()


def test_lock_and_sbom_say_what_a_prebuilt_image_is(in_project: Path) -> None:
    (in_project / "mcpkit.toml").write_text('[servers.srv]\nimage = "acme/srv:1"\n')
    locked = runner.invoke(app, ["lock", "srv", "--json"])
    assert locked.exit_code == 0, locked.output
    assert json.loads(locked.stdout)[0]["status"] == "prebuilt image, nothing to lock"
    sbom = runner.invoke(app, ["sbom", "srv"])
    assert sbom.exit_code != 0 and "prebuilt image acme/srv:1" in " ".join(sbom.output.split())
