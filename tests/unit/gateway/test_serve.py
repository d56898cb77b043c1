"""`kit gateway`'s plan: each server's container as the engine's API creates it, from the same walls as its
`docker run` line, started from the image found now by its id, with the tools recorded on that image. The image is
the Docker SDK's own object made from an inspect's fields (no engine in this tier)."""

from __future__ import annotations

from pathlib import Path

import pytest
from docker.models.images import Image
from docker.types import Mount

from kit import identity
from kit.containers.engine import create_body
from kit.containers.launch import LaunchEntry, server_entry
from kit.gateway.serve import planned_server
from kit.project.servers import discover, select
from kit.project.settings import Settings
from mcpkit_runtime.gateway.engine import ContainerTarget
from mcpkit_runtime.gateway.plan import FrontPlan, GatewayPlan, ServerPlan
from mcpkit_runtime.gateway.settings import GatewaySettings

IMAGE_ID = "sha256:" + "ab" * 32
API_VERSION = "1.41"
RECORD = '{"tools":[{"name":"run_sql","inputSchema":{"type":"object"}}]}'


@pytest.fixture(autouse=True)
def _no_docker_proxies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The create request carries the proxies of the user's Docker config: none here, whatever this machine has."""
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))


def _image(labels: dict[str, str]) -> Image:
    return Image(attrs={"Id": IMAGE_ID, "Config": {"Labels": labels}})


def _planned(entry: LaunchEntry, labels: dict[str, str]) -> ServerPlan:
    return planned_server(entry, _image(labels), API_VERSION)


def test_a_built_server_is_created_with_its_walls_from_its_image_id_and_lists_its_recorded_tools(
    project: Path,
) -> None:
    settings = Settings(project_dir=project)
    (analyst,) = select(discover(settings), ["analyst"])
    entry = server_entry(settings, analyst, env={"ANALYST_ROW_LIMIT": "7"}, labels={"io.mcpkit.gateway": "1"})
    downstream = _planned(entry, {identity.TOOLS: RECORD}).downstream()
    target = downstream.target
    assert isinstance(target, ContainerTarget) and target.image == IMAGE_ID
    assert entry.walls is not None
    walls = entry.walls.sdk_kwargs()
    assert target.body == create_body(API_VERSION, IMAGE_ID, walls, {"ANALYST_ROW_LIMIT": "7"}), (
        "its line's walls"
    )
    assert target.body["Image"] == IMAGE_ID and target.body["Env"] == ["ANALYST_ROW_LIMIT=7"]
    assert target.body["Labels"]["io.mcpkit.gateway"] == "1" and "Cmd" not in target.body
    assert target.fallback.args == [*entry.args[:-1], IMAGE_ID], "the fallback runs the same image"
    assert [t.name for t in downstream.recorded or []] == ["run_sql"]


def test_the_create_request_splits_the_walls_between_the_container_and_its_host_config() -> None:
    walls = {"stdin_open": True, "tty": False, "init": True, "auto_remove": True, "cap_drop": ["ALL"],
             "read_only": True, "user": "10001:10001", "mem_limit": "512m", "nano_cpus": 10**9,
             "pids_limit": 128, "network_mode": "none", "mounts": [Mount("/data", "vol", type="volume")],
             "tmpfs": {"/tmp": "rw,noexec"}, "labels": {"io.mcpkit.server": "analyst"}}  # fmt: skip
    body = create_body(API_VERSION, IMAGE_ID, walls, {"TOKEN": "s3"})
    assert body["OpenStdin"] and body["StdinOnce"] and body["AttachStdin"] and not body["Tty"]
    assert body["User"] == "10001:10001" and body["Labels"] == {"io.mcpkit.server": "analyst"}
    assert body["Env"] == ["TOKEN=s3"] and None not in body.values()
    host = body["HostConfig"]
    assert host["Init"] is True and host["AutoRemove"] is True and host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"] and host["NetworkMode"] == "none" and host["PidsLimit"] == 128
    assert (
        host["Memory"] == 512 * 2**20 and host["NanoCpus"] == 10**9 and host["Mounts"][0]["Target"] == "/data"
    )
    assert host["Tmpfs"] == {"/tmp": "rw,noexec"}


def test_an_image_without_a_record_is_listed_from_the_gateways_cache_instead(project: Path) -> None:
    settings = Settings(project_dir=project)
    (analyst,) = select(discover(settings), ["analyst"])
    assert _planned(server_entry(settings, analyst), {}).downstream().recorded is None
    assert (
        _planned(server_entry(settings, analyst), {identity.TOOLS: "{not json"}).downstream().recorded is None
    )


def test_a_prebuilt_image_keeps_its_command_and_is_never_pulled(project: Path) -> None:
    (project / "mcpkit.toml").write_text(
        '[servers.srv]\nimage = "srv:1"\ncommand = ["python3", "/s.py"]\nargs = ["--x"]\n'
    )
    settings = Settings(project_dir=project)
    (server,) = select(discover(settings), ["srv"])
    target = _planned(server_entry(settings, server), {}).downstream().target
    assert isinstance(target, ContainerTarget)
    assert target.body["Entrypoint"] == ["python3"] and target.body["Cmd"] == ["/s.py", "--x"]
    assert target.fallback.args[-3:] == [IMAGE_ID, "/s.py", "--x"] and "--pull" in target.fallback.args


def test_another_docker_cli_keeps_the_command_line(project: Path) -> None:
    settings = Settings(project_dir=project, docker_command="/opt/podman/bin/podman")
    (analyst,) = select(discover(settings), ["analyst"])
    downstream = _planned(server_entry(settings, analyst), {identity.TOOLS: RECORD}).downstream()
    assert not isinstance(downstream.target, ContainerTarget) and downstream.target.command.endswith("podman")
    assert downstream.recorded is not None


def test_the_plan_reaches_the_serving_process_as_json_and_gives_the_same_downstreams(project: Path) -> None:
    settings = Settings(project_dir=project)
    (analyst,) = select(discover(settings), ["analyst"])
    entry = server_entry(settings, analyst, env={"ANALYST_ROW_LIMIT": "7"}, labels={"io.mcpkit.gateway": "1"})
    plan = GatewayPlan(servers=[_planned(entry, {identity.TOOLS: RECORD})],
                       settings=GatewaySettings.model_validate({"rate-limits": {"*": "5/min"}}),
                       tool_cache=project / "cache", front=FrontPlan(http=True, token="t"))  # fmt: skip
    read = GatewayPlan.model_validate_json(plan.model_dump_json(by_alias=True))
    assert read == plan
    (before,), (after,) = plan.gateway().downstreams.values(), read.gateway().downstreams.values()
    assert after.target == before.target and after.recorded == before.recorded
    assert read.gateway().settings.rate_limits == {"*": "5/min"}
