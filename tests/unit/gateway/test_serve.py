"""`kit gateway`'s downstreams: each server's container as the engine's API creates it, from the same walls as its
`docker run` line, started from the image found now by its id, with the tools recorded on that image. The image is
the Docker SDK's own object made from an inspect's fields (no engine in this tier)."""

from __future__ import annotations

from pathlib import Path

from docker.models.images import Image

from kit import identity
from kit.containers.launch import server_entry
from kit.gateway.serve import _downstream
from kit.project.servers import discover, select
from kit.project.settings import Settings
from mcpkit_runtime.gateway.engine import ContainerTarget

IMAGE_ID = "sha256:" + "ab" * 32
RECORD = '{"tools":[{"name":"run_sql","inputSchema":{"type":"object"}}]}'


def _image(labels: dict[str, str]) -> Image:
    return Image(attrs={"Id": IMAGE_ID, "Config": {"Labels": labels}})


def test_a_built_server_is_created_with_its_walls_from_its_image_id_and_lists_its_recorded_tools(
    project: Path,
) -> None:
    settings = Settings(project_dir=project)
    (analyst,) = select(discover(settings), ["analyst"])
    entry = server_entry(settings, analyst, env={"ANALYST_ROW_LIMIT": "7"}, labels={"io.mcpkit.gateway": "1"})
    downstream = _downstream(entry, _image({identity.TOOLS: RECORD}))
    target = downstream.target
    assert isinstance(target, ContainerTarget) and target.image == IMAGE_ID
    assert entry.walls is not None and target.create == entry.walls.sdk_kwargs(), "the same walls as its line"
    assert target.create["labels"]["io.mcpkit.gateway"] == "1" and "command" not in target.create
    assert target.env == {"ANALYST_ROW_LIMIT": "7"}
    assert target.fallback.args == [*entry.args[:-1], IMAGE_ID], "the fallback runs the same image"
    assert [t.name for t in downstream.recorded or []] == ["run_sql"]


def test_an_image_without_a_record_is_listed_from_the_gateways_cache_instead(project: Path) -> None:
    settings = Settings(project_dir=project)
    (analyst,) = select(discover(settings), ["analyst"])
    assert _downstream(server_entry(settings, analyst), _image({})).recorded is None
    assert (
        _downstream(server_entry(settings, analyst), _image({identity.TOOLS: "{not json"})).recorded is None
    )


def test_a_prebuilt_image_keeps_its_command_and_is_never_pulled(project: Path) -> None:
    (project / "mcpkit.toml").write_text(
        '[servers.srv]\nimage = "srv:1"\ncommand = ["python3", "/s.py"]\nargs = ["--x"]\n'
    )
    settings = Settings(project_dir=project)
    (server,) = select(discover(settings), ["srv"])
    target = _downstream(server_entry(settings, server), _image({})).target
    assert isinstance(target, ContainerTarget)
    assert target.create["entrypoint"] == ["python3"] and target.create["command"] == ["/s.py", "--x"]
    assert target.fallback.args[-3:] == [IMAGE_ID, "/s.py", "--x"] and "--pull" in target.fallback.args


def test_another_docker_cli_keeps_the_command_line(project: Path) -> None:
    settings = Settings(project_dir=project, docker_command="/opt/podman/bin/podman")
    (analyst,) = select(discover(settings), ["analyst"])
    downstream = _downstream(server_entry(settings, analyst), _image({identity.TOOLS: RECORD}))
    assert not isinstance(downstream.target, ContainerTarget) and downstream.target.command.endswith("podman")
    assert downstream.recorded is not None
