"""The kit as a user installs it: its wheel and the runtime's in a fresh virtual environment outside the checkout,
driven as a console script from a temporary folder, on a project that `kit init` and `kit new` create."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import anyio
import docker
import pytest
from mcp import Client

from kit.containers.launch import stdio_params
from kit.identity import PROJECT, project_id, project_slug
from kit.image.base_image import BaseResult
from kit.project.settings import Settings

REPO = Path(__file__).resolve().parents[2]
# Read at import, before the autouse fixture points HOME at a temporary folder: pip's cache makes installs quick.
PIP_CACHE = os.environ.get("PIP_CACHE_DIR") or str(Path.home() / ".cache" / "pip")
PREFIX = "mcpkit-test-installed"


@pytest.fixture(scope="module")
def installed_kit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `kit` console script of the wheels built from this checkout (the kit's and the runtime's it depends on,
    which is on no package index) installed into a new virtual environment."""
    root = tmp_path_factory.mktemp("installed")
    env = {**os.environ, "PIP_CACHE_DIR": PIP_CACHE, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    dist = root / "dist"
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(dist)]
    subprocess.run([*pip_wheel, str(REPO), str(REPO / "runtime")], check=True, env=env)
    (wheel,) = dist.glob("mcpkit-*.whl")
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True)
    python = str(root / "venv/bin/python")
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--find-links", str(dist), str(wheel)],
        check=True,
        env=env,
    )
    owners = "import importlib.metadata as m; print(m.packages_distributions()['mcpkit_runtime'])"
    owner = subprocess.run([python, "-c", owners], check=True, capture_output=True, text=True).stdout
    assert owner.strip() == "['mcpkit-runtime']", "one distribution owns the runtime's files"
    return root / "venv" / "bin" / "kit"


def test_the_installed_kit_scaffolds_builds_and_configures_a_server_that_answers(
    installed_kit: Path,
    base_image: BaseResult,
    kit_settings: Settings,
    docker_client: docker.DockerClient,
    tmp_path: Path,
) -> None:
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    env = {
        **os.environ,
        "KIT_BASE_IMAGE": base_image.tag,
        "KIT_CACHE_DIR": str(kit_settings.cache_dir),
        "KIT_IMAGE_PREFIX": PREFIX,
        "PIP_CACHE_DIR": PIP_CACHE,
    }

    def kit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([str(installed_kit), *args], cwd=cwd, env=env, capture_output=True, text=True)
        assert result.returncode == 0, f"kit {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return result

    assert kit("--version", cwd=workdir).stdout.startswith("mcpkit ")
    kit("init", "project", cwd=workdir)
    project = workdir / "project"
    assert (project / "mcpkit.toml").is_file() and (project / "servers").is_dir()
    kit("new", "hello", cwd=project)
    try:
        built = json.loads(kit("build", "hello", "--json", cwd=project).stdout)
        assert built[0]["status"] == "built" and "greet" in built[0]["tools"]
        config_file = tmp_path / "claude_desktop_config.json"
        kit("config", "hello", "--client", "claude-desktop", "--output", str(config_file), cwd=project)
        entry = json.loads(config_file.read_text())["mcpServers"]["hello"]
        assert entry["args"][-1] == f"{PREFIX}/{project_slug(project)}/hello:0.1.0"

        async def call() -> tuple[str, str]:
            params = stdio_params(entry["command"], entry["args"], entry.get("env"))
            async with Client(params) as client:
                result = await client.call_tool("greet", {"name": "Ada"})
                about = await client.read_resource("hello://about")
            assert not result.is_error, result.content
            return result.structured_content["result"], about.contents[0].text

        greeting, about = anyio.run(call)
        assert greeting == "Hello, Ada!" and "greet" in about
    finally:
        for image in docker_client.images.list(filters={"label": f"{PROJECT}={project_id(project)}"}):
            docker_client.images.remove(image.id, force=True)
