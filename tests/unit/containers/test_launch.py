import itertools
from pathlib import Path

import pytest

from kit import identity
from kit.containers.launch import PLACEHOLDER, image_of, probe_entry, server_entry
from kit.errors import KitError
from kit.project.servers import Server, load_server
from kit.project.settings import Settings


def _pairs(args: list[str]) -> list[tuple[str, str]]:
    return list(itertools.pairwise(args))


def docker_run_args(server: Server, image: str, **options: object) -> list[str]:
    """The arguments of the entry that starts `server` from `image`, as every launcher makes them."""
    names = options.pop("env_names", [])
    env = {name: "value" for name in names}  # type: ignore[attr-defined]
    entry = server_entry(Settings(project_dir=server.project_dir), server, image=image, env=env, **options)  # type: ignore[arg-type]
    assert entry.image == image
    return entry.args


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
    volume = identity.volume_name(mailer, "outbox")
    assert volume.startswith("mcpkit-project-") and volume.endswith("-mailer-outbox"), (
        "the project's own volume"
    )
    assert ("--mount", f"type=volume,source={volume},target=/var/mcp/outbox") in _pairs(named)
    assert "--read-only" in named, "the root filesystem stays read-only beside the volume"
    bound = docker_run_args(mailer, "img", volumes={"outbox": "/srv/outbox"})
    assert ("--mount", "type=bind,source=/srv/outbox,target=/var/mcp/outbox") in _pairs(bound)


def test_entries_carry_the_project_they_belong_to(project: Path, tmp_path: Path) -> None:
    here = load_server(project / "servers" / "analyst")
    other_project = tmp_path / "elsewhere" / "project"
    other_project.mkdir(parents=True)
    other = here.model_copy(update={"project_dir": other_project})
    settings = Settings(project_dir=project)
    assert identity.image_tag(settings, here) != identity.image_tag(settings, other)
    assert identity.volume_name(here, "x") != identity.volume_name(other, "x")
    assert ("--label", f"{identity.PROJECT}={identity.project_id(project)}") in _pairs(
        server_entry(settings, here).args
    )


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("volumes", {"outbox": "/srv/out,type=bind,source=/"}),
        ("volumes", {"outbox": "relative/folder"}),
        ("volumes", {"outbox": '/srv/"quoted"'}),
        ("network", "host"),
        ("network", "container:abc"),
        ("network", "a b"),
    ],
)
def test_what_a_caller_adds_cannot_open_a_wall(project: Path, option: str, value: object) -> None:
    mailer = load_server(project / "servers" / "mailer")
    with pytest.raises(KitError):
        server_entry(Settings(project_dir=project), mailer, **{option: value})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "image"),
    [
        (["run", "-i", "--rm", "--label", "a=b", "img:1"], "img:1"),
        (["run", "--memory=1g", "-i", "img"], "img"),
        (["run", "-i", "--network", "none", "img", "--arg", "x"], "img"),
        (["gateway", "--label", "io.mcpkit.managed=true"], None),
        (["run", "-i"], None),
    ],
)
def test_the_image_of_an_entry_is_read_from_its_arguments_not_their_position(
    args: list[str], image: str | None
) -> None:
    assert image_of(args) == image


def _with_args(project: Path, args: str) -> Server:
    pyproject = project / "servers" / "mailer" / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace("[tool.mcpkit]\n", f"[tool.mcpkit]\nargs = {args}\n", 1)
    )
    return load_server(project / "servers" / "mailer")


def test_variables_the_arguments_name_are_passed_by_name_without_being_listed(project: Path) -> None:
    """Named twice would be a chore: `${NAME}` in the arguments makes NAME a variable the entry passes, even with no
    value known here (the client's environment may hold it; without one the container says which is missing)."""
    server = _with_args(project, '["--dsn", "${POSTGRES_DSN}", "--escaped", "$${LITERAL}"]')
    assert server.secret_names == ["MAILER_SMTP_URL", "POSTGRES_DSN"] and "POSTGRES_DSN" in server.passed_env
    entry = server_entry(Settings(project_dir=project), server)
    assert ("-e", "POSTGRES_DSN") in _pairs(entry.args) and entry.env == {}
    assert "-e" not in [a for a, b in _pairs(entry.args) if b == "LITERAL"]
    assert not any("${" in word for word in entry.args), "the arguments are the image's CMD, not the entry's"


def test_the_kits_own_checks_pass_a_placeholder_never_a_value(project: Path) -> None:
    server = _with_args(project, '["--dsn", "${POSTGRES_DSN}"]')
    entry = probe_entry(Settings(project_dir=project), server, image="img")
    assert entry.env == {"POSTGRES_DSN": PLACEHOLDER}
    assert ("-e", "POSTGRES_DSN") in _pairs(entry.args) and PLACEHOLDER not in entry.args
