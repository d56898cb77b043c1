import io
import json
import shutil
import tarfile
from pathlib import Path
from typing import Any

import anyio
import docker
from mcp import Client

from kit.containers.launch import probe_entry, stdio_params
from kit.identity import LABEL_PREFIX, project_slug
from kit.image import layer_image
from kit.image.base_image import BaseResult
from kit.image.builder import BuildResult, build_servers
from kit.project.servers import Server, load_server
from kit.project.settings import Settings
from kit.project.sources import source_hash
from kit.reporting import SilentReporter

INSPECT_SCRIPT = """
import importlib.util, json, os, pathlib, sys
spec = importlib.util.find_spec("analyst.server")
print(json.dumps({
    "uid": os.getuid(),
    "prefix": sys.prefix,
    "pip": importlib.util.find_spec("pip") is not None,
    "compiled": pathlib.Path(spec.cached).exists(),
    "wheels": os.path.exists("/wheels"),
    "demo_db": os.path.getsize("/opt/mcp/data/demo.db"),
}))
"""


def test_image_labels_record_its_provenance(
    analyst_image: BuildResult, analyst: Server, docker_client
) -> None:
    labels = docker_client.images.get(analyst_image.tag).labels
    assert labels[LABEL_PREFIX + "server"] == "analyst"
    assert labels[LABEL_PREFIX + "server-version"] == analyst.version
    assert labels[LABEL_PREFIX + "kit-version"]
    assert labels[LABEL_PREFIX + "source-hash"] == source_hash(analyst.path)
    dependencies = labels[LABEL_PREFIX + "dependencies"].split("\n")
    assert any(d.startswith("mcp==2.") for d in dependencies) and any(
        d.startswith("pydantic==") for d in dependencies
    )


def test_image_runs_as_non_root_in_its_own_environment_without_installer(
    analyst_image: BuildResult, docker_client: docker.DockerClient
) -> None:
    image = docker_client.images.get(analyst_image.tag)
    assert image.attrs["Config"]["User"] == "10001:10001"
    output = docker_client.containers.run(
        analyst_image.tag,
        ["-c", INSPECT_SCRIPT],
        entrypoint=["python"],
        network_mode="none",
        read_only=True,
        remove=True,
        labels={"io.mcpkit.managed": "true"},
    )
    facts = json.loads(output)
    assert facts["uid"] == 10001
    assert facts["prefix"] == "/opt/venv"
    assert facts["pip"] is False, "no installer left in the final image"
    assert facts["compiled"] is True, "bytecode precompiled at build time"
    assert facts["wheels"] is False, "the wheelhouse stays in the build stage"
    assert facts["demo_db"] > 1_000_000


def test_unchanged_server_is_not_rebuilt(
    kit_settings: Settings, analyst: Server, analyst_image: BuildResult
) -> None:
    (again,) = build_servers(kit_settings, [analyst], SilentReporter())
    assert again.status == "unchanged" and again.image_id == analyst_image.image_id


def _write_server(root: Path, name: str, version: str, dependencies: str, main: str) -> Path:
    """A one-module server project: `python -m NAME` runs `main`."""
    folder = root / "servers" / name
    (folder / name).mkdir(parents=True)
    (folder / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
        f'[project]\nname = "{name}-server"\nversion = "{version}"\ndependencies = [{dependencies}]\n'
        f'[tool.hatch.build.targets.wheel]\npackages = ["{name}"]\n[tool.mcpkit]\nmodule = "{name}"\n'
    )
    (folder / name / "__init__.py").write_text("")
    (folder / name / "__main__.py").write_text(main)
    return folder


def _images_of(client: docker.DockerClient, server: Server) -> list[Any]:
    """Tagged images of `server` in its project, whatever their prefix."""
    repository = f"/{project_slug(server.project_dir)}/{server.name}:"
    return [image for image in client.images.list() if any(repository in tag for tag in image.tags)]


def test_a_server_that_cannot_start_fails_its_smoke_test_is_not_tagged_and_is_not_rebuilt_unchanged(
    kit_settings: Settings, base_image: BaseResult, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    main = "import sys\nsys.stderr.write('broken: BROKEN_TOKEN is not configured\\n')\nsys.exit(3)\n"
    folder = _write_server(tmp_path, "broken", "0.0.1", "", main)
    settings = kit_settings.model_copy(update={"image_prefix": "mcpkit-test"})
    (result,) = build_servers(settings, [load_server(folder)], SilentReporter())
    assert result.status == "failed" and result.smoke == "failed"
    assert "smoke test failed" in str(result.error) and "BROKEN_TOKEN is not configured" in str(result.error)
    assert not _images_of(docker_client, load_server(folder))
    (again,) = build_servers(settings, [load_server(folder)], SilentReporter(), retry_failed=False)
    assert again.status == "failed" and again.smoke == "not run", "a fleet build remembers the failure"
    assert str(again.error).startswith("failed before: smoke test failed") and "kit build broken" in str(
        again.hint
    )
    (folder / "broken" / "__main__.py").write_text(main.replace("sys.exit(3)", "sys.exit(4)"))
    (changed,) = build_servers(settings, [load_server(folder)], SilentReporter(), retry_failed=False)
    assert changed.smoke == "failed", "a change to what it is built from builds it again"
    shutil.rmtree(folder)


def test_a_breaking_change_against_the_schema_lock_fails_the_build(
    kit_settings: Settings, base_image: BaseResult, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    main = (
        "from mcp.server.mcpserver import MCPServer\n"
        "mcp = MCPServer('weather', version='1.2.0')\n"
        "@mcp.tool()\ndef get_forecast(city: str) -> str:\n    return city\n"
        "mcp.run()\n"
    )
    folder = _write_server(tmp_path, "weather", "1.2.0", '"mcp>=2.3,<3"', main)
    lock = {"server": "weather", "version": "1.1.0", "resources": [],
            "tools": {"get_weather": {"input_schema": {"properties": {"city": {"type": "string"}}}, "output_schema": None}}}  # fmt: skip
    (folder / "mcp-schema.lock.json").write_text(json.dumps(lock))
    settings = kit_settings.model_copy(update={"image_prefix": "mcpkit-test"})
    for stale in _images_of(docker_client, load_server(folder)):
        docker_client.images.remove(stale.id, force=True)
    (result,) = build_servers(settings, [load_server(folder)], SilentReporter())
    assert result.status == "failed" and "breaking change" in str(result.error)
    assert "get_weather: tool removed" in str(result.error) and "_v2" in (result.hint or "")
    assert not _images_of(docker_client, load_server(folder))


def test_any_base_image_named_in_the_settings_is_used(
    kit_settings: Settings, base_image: BaseResult, analyst: Server, docker_client: docker.DockerClient
) -> None:
    """A laptop would name python:3.12-slim; here no image can be pulled, so the stand-in is a local tag that is
    not one `kit base` makes."""
    docker_client.images.get(kit_settings.base_image).tag("mcpkit-test/python", "3.11-local")
    settings = kit_settings.model_copy(
        update={"base_image": "mcpkit-test/python:3.11-local", "image_prefix": "mcpkit-test"}
    )
    try:
        (result,) = build_servers(settings, [analyst], SilentReporter())
        labels = docker_client.images.get(result.tag).labels
        assert labels[LABEL_PREFIX + "base-image"] == "mcpkit-test/python:3.11-local"
        assert result.tag == f"mcpkit-test/{project_slug(analyst.project_dir)}/analyst:0.1.0"
        assert "run_sql" in result.tools
    finally:
        repository = f"mcpkit-test/{project_slug(analyst.project_dir)}/analyst"
        for image in docker_client.images.list(name=repository) + docker_client.images.list(
            name="mcpkit-test/python"
        ):
            for tag in image.tags:
                if tag.startswith("mcpkit-test/"):  # the base image itself keeps its own tag
                    docker_client.images.remove(tag)


BUNDLE_SCRIPT = """
import json, sys
import analyst.server
print(json.dumps({
    "finders": [type(finder).__name__ for finder in sys.meta_path],
    "loader": type(analyst.server.__spec__.loader).__name__,
    "file": analyst.server.__file__,
}))
"""


def test_a_folder_server_starts_from_its_start_bundle_and_answers_the_same_with_it_off(
    analyst_image: BuildResult,
    analyst: Server,
    kit_settings: Settings,
    docker_client: docker.DockerClient,
    session_labels: dict[str, str],
) -> None:
    def inside(**environment: str) -> dict[str, Any]:
        output = docker_client.containers.run(
            analyst_image.tag, ["-c", BUNDLE_SCRIPT], entrypoint=["python"], environment=environment,
            network_mode="none", read_only=True, remove=True, labels=session_labels,
        )  # fmt: skip
        return json.loads(output)

    used, off = inside(), inside(MCPKIT_START_BUNDLE="0")
    assert used["finders"][0] == "StartBundleFinder" and used["loader"] == "BundledLoader"
    assert used["file"] == off["file"] == "/opt/server/analyst/server.py"
    assert "StartBundleFinder" not in off["finders"] and off["loader"] == "SourceFileLoader"

    entry = probe_entry(kit_settings, analyst, image=analyst_image.tag)
    image_at = entry.args.index(analyst_image.tag)
    without = [*entry.args[:image_at], "-e", "MCPKIT_START_BUNDLE=0", *entry.args[image_at:]]

    async def answers(args: list[str]) -> tuple[list[str], Any]:
        async with Client(stdio_params(entry.command, args, entry.env), mode="legacy") as client:
            tools = sorted(tool.name for tool in (await client.list_tools()).tools)
            return tools, (
                await client.call_tool("run_sql", {"query": "select count(*) from orders"})
            ).content

    assert anyio.run(answers, entry.args) == anyio.run(answers, without)


def test_an_image_loaded_with_one_more_layer_is_configured_as_a_commit_of_that_layer_would_be(
    analyst_image: BuildResult, docker_client: docker.DockerClient, tmp_path: Path,
    session_labels: dict[str, str],
) -> None:  # fmt: skip
    layer = tmp_path / "layer.tar"
    with tarfile.open(layer, "w") as archive:
        member = tarfile.TarInfo("opt/server/added.txt")
        member.size, member.uid, member.mode = 6, 0, 0o644
        archive.addfile(member, io.BytesIO(b"added\n"))
    start = (["python", "-c", "print(open('/opt/server/added.txt').read())"], ["an", "argument"],
             {"ANALYST_ROW_LIMIT": "7", "HOME": "/tmp/home"}, {**session_labels, "io.mcpkit.test": "layer"})  # fmt: skip
    loaded = layer_image.with_layer(docker_client, analyst_image.image_id, layer, *start)
    committed = layer_image._committed(docker_client, analyst_image.image_id, layer, *start)
    try:
        assert loaded.id != committed.id and not loaded.attrs["Parent"]
        keys = ("Entrypoint", "Cmd", "User", "WorkingDir", "Labels", "StopSignal", "Volumes")
        assert {k: loaded.attrs["Config"].get(k) for k in keys} == {
            k: committed.attrs["Config"].get(k) for k in keys
        }
        assert sorted(loaded.attrs["Config"]["Env"]) == sorted(committed.attrs["Config"]["Env"])
        layers = loaded.attrs["RootFS"]["Layers"]
        assert layers[:-1] == committed.attrs["RootFS"]["Layers"][:-1], "one layer on the same ones"
        output = docker_client.containers.run(
            loaded.id, remove=True, network_mode="none", labels=session_labels
        )
        assert output == b"added\n\n"
    finally:
        for image in (loaded, committed):
            docker_client.images.remove(image.id, force=True)


def test_an_image_relabelled_keeps_its_layers_and_configuration_and_has_the_label(
    analyst_image: BuildResult, docker_client: docker.DockerClient
) -> None:
    image = docker_client.images.get(analyst_image.image_id)
    relabelled = layer_image.relabelled(docker_client, image.id, {"io.mcpkit.test": "relabelled"})
    try:
        assert relabelled.id != image.id
        assert relabelled.attrs["RootFS"] == image.attrs["RootFS"], "no layer carried, none added"
        config = relabelled.attrs["Config"]
        assert config["Labels"] == image.attrs["Config"]["Labels"] | {"io.mcpkit.test": "relabelled"}
        assert {k: v for k, v in config.items() if k != "Labels"} == {
            k: v for k, v in image.attrs["Config"].items() if k != "Labels"
        }
    finally:
        docker_client.images.remove(relabelled.id, force=True)


class _Steps(SilentReporter):
    def __init__(self) -> None:
        self.steps: list[str] = []

    def step(self, message: str) -> None:
        self.steps.append(message)

    def for_server(self, name: str) -> "_Steps":
        return self


def test_a_code_change_reuses_what_the_build_commands_wrote_until_what_they_read_changes(
    kit_settings: Settings, analyst: Server, base_image: BaseResult, docker_client: docker.DockerClient,
    tmp_path: Path,
) -> None:  # fmt: skip
    assert analyst.path is not None
    folder = tmp_path / "project" / "servers" / "analyst"
    shutil.copytree(analyst.path, folder, ignore=shutil.ignore_patterns("tests", "__pycache__"))
    (tmp_path / "project" / "locks").mkdir()
    shutil.copy2(analyst.project_dir / "locks" / "analyst.lock", tmp_path / "project" / "locks")
    settings = kit_settings.model_copy(update={"image_prefix": "mcpkit-test"})
    probe = "import os; print(os.path.getsize('/opt/mcp/data/demo.db'))"

    def build() -> tuple[bool, int]:
        """Whether the build commands ran, and the size of the database they wrote."""
        steps = _Steps()
        (result,) = build_servers(settings, [load_server(folder)], steps)
        assert result.ok, result.error
        size = docker_client.containers.run(
            result.image_id, ["-c", probe], entrypoint=["python"], network_mode="none", remove=True,
            labels={"io.mcpkit.managed": "true"},
        )  # fmt: skip
        return not any(step.startswith("build commands not run") for step in steps.steps), int(size)

    try:
        ran, size = build()
        assert ran and size > 1_000_000
        code = folder / "analyst" / "server.py"
        code.write_text(code.read_text() + "\n# a one-line change\n")
        assert build() == (False, size), "the database it wrote before, not made again"
        generator = folder / "analyst" / "demo_data.py"
        generator.write_text(generator.read_text() + "\n# a change to what the command runs\n")
        assert build() == (True, size)
    finally:
        for image in _images_of(docker_client, load_server(folder)):
            docker_client.images.remove(image.id, force=True)
