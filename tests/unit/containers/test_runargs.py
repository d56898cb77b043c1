import itertools
from pathlib import Path

from kit.containers.runargs import docker_run_args
from kit.project.servers import load_server


def _pairs(args: list[str]) -> list[tuple[str, str]]:
    return list(itertools.pairwise(args))


def test_every_hardening_flag_is_on_by_default(project: Path) -> None:
    analyst = load_server(project / "servers" / "analyst")
    args = docker_run_args(analyst, "mcpkit/analyst:0.1.0")
    assert args[:4] == ["run", "-i", "--rm", "--init"]
    pairs = _pairs(args)
    for expected in [
        ("--cap-drop", "ALL"),
        ("--security-opt", "no-new-privileges"),
        ("--user", "10001:10001"),
        ("--network", "none"),
        ("--memory", "512m"),
        ("--pids-limit", "128"),
        ("--label", "io.mcpkit.managed=true"),
        ("--label", "io.mcpkit.server=analyst"),
    ]:
        assert expected in pairs
    assert "--read-only" in args
    assert any(a.startswith("/tmp:") and "noexec" in a for a in args)
    assert "--name" not in args, "clients may start a server twice; a fixed name would collide"
    assert "-t" not in args, "a TTY would corrupt the stdio protocol stream"
    assert args[-1] == "mcpkit/analyst:0.1.0"


def test_variables_are_passed_by_name_only(project: Path) -> None:
    analyst = load_server(project / "servers" / "analyst")
    args = docker_run_args(analyst, "img", env_names=["ANALYST_DATABASE_URL"])
    assert ("-e", "ANALYST_DATABASE_URL") in _pairs(args)
    assert not any("=" in a for a in args if a.startswith("ANALYST_"))


def test_a_variable_the_client_does_not_set_is_not_named(project: Path) -> None:
    """`-e NAME` with NAME unset removes the image's own default (the analyst's baked demo database URL)."""
    args = docker_run_args(load_server(project / "servers" / "analyst"), "img")
    assert "-e" not in args


def test_server_declaring_network_gets_the_default_network(tmp_path: Path) -> None:
    folder = tmp_path / "fetcher"
    folder.mkdir()
    (folder / "pyproject.toml").write_text(
        '[project]\nname = "fetcher"\nversion = "1.0.0"\n[tool.mcpkit]\nmodule = "fetcher"\nnetwork = true\n'
        '[tool.mcpkit.limits]\nmemory = "1g"\n'
    )
    args = docker_run_args(load_server(folder), "img")
    assert "--network" not in args
    assert ("--memory", "1g") in _pairs(args)


def test_a_network_can_be_chosen_at_config_time(project: Path) -> None:
    analyst = load_server(project / "servers" / "analyst")
    args = docker_run_args(analyst, "img", network="shop-db")
    assert ("--network", "shop-db") in _pairs(args) and ("--network", "none") not in _pairs(args)


def test_declared_volumes_are_named_volumes_unless_bound_to_a_host_folder(project: Path) -> None:
    mailer = load_server(project / "servers" / "mailer")
    named = docker_run_args(mailer, "img")
    assert ("--mount", "type=volume,source=mcpkit-mailer-outbox,target=/var/mcp/outbox") in _pairs(named)
    assert "--read-only" in named, "the root filesystem stays read-only beside the volume"
    bound = docker_run_args(mailer, "img", volumes={"outbox": "/srv/outbox"})
    assert ("--mount", "type=bind,source=/srv/outbox,target=/var/mcp/outbox") in _pairs(bound)
