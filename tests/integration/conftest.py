"""The integration tier: the real Docker engine, real images, the SDK's stdio client.

Without an engine these tests skip on a laptop; under CI=true a missing engine is a failure, never a skip.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import docker
import platformdirs
import pytest
from typer.testing import CliRunner, Result

from kit.cli import app
from kit.errors import KitError
from kit.identity import SERVER
from kit.image.base_image import BaseResult, ensure_base_image, is_kit_base
from kit.image.builder import BuildResult, build_servers
from kit.project.servers import Server, discover, select
from kit.project.settings import Settings, load_settings
from kit.reporting import SilentReporter

REPO = Path(__file__).resolve().parents[2]
# Read before any test points HOME at a temporary folder, so wheels and the base image are reused across runs.
SHARED_CACHE = Path(os.environ.get("KIT_CACHE_DIR") or platformdirs.user_cache_dir("mcpkit"))
BASE_IMAGE = os.environ.get("KIT_BASE_IMAGE") or Settings.model_fields["base_image"].default


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.docker)


@pytest.fixture(scope="session", autouse=True)
def labelled_session(session_labels: dict[str, str]) -> Iterator[None]:
    """Every container the kit starts for a test (client entries, smoke tests, the gateway's) carries this
    session's label, so the tests find, kill and count only their own: a developer's running servers share the
    engine. Set for the whole session, so module fixtures see it too."""
    before = os.environ.get("KIT_LABELS")
    os.environ["KIT_LABELS"] = ",".join(f"{k}={v}" for k, v in session_labels.items())
    yield
    if before is None:
        os.environ.pop("KIT_LABELS", None)
    else:
        os.environ["KIT_LABELS"] = before


@pytest.fixture(autouse=True)
def labelled_containers(monkeypatch: pytest.MonkeyPatch, session_labels: dict[str, str]) -> None:
    """The same inside each test, after the test tier's isolation has cleared every KIT_* variable."""
    monkeypatch.setenv("KIT_LABELS", ",".join(f"{k}={v}" for k, v in session_labels.items()))


@pytest.fixture(scope="session")
def own_containers(
    docker_client: docker.DockerClient, session_labels: dict[str, str]
) -> Callable[..., list[Any]]:
    """This session's containers, of one server or all; `all_states` includes stopped ones."""

    def find(server: str | None = None, *, all_states: bool = False, **labels: str) -> list[Any]:
        wanted = {**session_labels, **({SERVER: server} if server else {}), **labels}
        filters = {"label": [f"{key}={value}" for key, value in wanted.items()]}
        return list(docker_client.containers.list(ignore_removed=True, all=all_states, filters=filters))

    return find


@pytest.fixture(scope="session")
def kit_settings(docker_client: docker.DockerClient, session_labels: dict[str, str]) -> Settings:
    labels = ",".join(f"{k}={v}" for k, v in session_labels.items())
    environ = {"KIT_BASE_IMAGE": BASE_IMAGE, "KIT_CACHE_DIR": str(SHARED_CACHE), "KIT_LABELS": labels}
    return load_settings(environ, cwd=REPO)


@pytest.fixture(scope="session")
def base_image(kit_settings: Settings, unavailable: Callable[[str], NoReturn]) -> BaseResult:
    """Built once per machine (cached by tag); a registry base such as python:3.12-slim is used as it is."""
    if not is_kit_base(kit_settings):
        return BaseResult(kit_settings.base_image, "", 0, built=False)
    try:
        return ensure_base_image(kit_settings, SilentReporter())
    except KitError as exc:
        unavailable(f"cannot build the base image: {exc}")
        raise


@pytest.fixture(scope="session")
def analyst(kit_settings: Settings) -> Server:
    (server,) = select(discover(kit_settings), ["analyst"])
    return server


@pytest.fixture(scope="session")
def analyst_image(kit_settings: Settings, base_image: BaseResult, analyst: Server) -> BuildResult:
    (result,) = build_servers(kit_settings, [analyst], SilentReporter())
    assert result.ok, f"{result.error}\n{result.hint}"
    return result


@pytest.fixture(scope="session")
def mailer_image(kit_settings: Settings, base_image: BaseResult) -> BuildResult:
    (result,) = build_servers(kit_settings, select(discover(kit_settings), ["mailer"]), SilentReporter())
    assert result.ok, f"{result.error}\n{result.hint}"
    return result


@pytest.fixture(scope="session")
def server_images(analyst_image: BuildResult, mailer_image: BuildResult) -> list[BuildResult]:
    """Both of our servers' images, built once for every test that needs them."""
    return [analyst_image, mailer_image]


class KitCli:
    """The kit's CLI in-process, as a user runs it, with the settings every command of a test runs with (the autouse
    fixture clears KIT_*): `kit_cli("build")` must succeed, `kit_cli.invoke("doctor")` may fail."""

    def __init__(self, **env: str) -> None:
        self.env = dict(env)

    def at(self, project: Path) -> KitCli:
        """The same CLI, run in `project`."""
        return KitCli(**self.env, KIT_PROJECT_DIR=str(project))

    def invoke(self, *args: str) -> Result:
        return CliRunner().invoke(app, list(args), env=self.env)

    def __call__(self, *args: str) -> Result:
        result = self.invoke(*args)
        assert result.exit_code == 0, f"kit {' '.join(args)}:\n{result.output}"
        return result


@pytest.fixture(scope="module")
def kit_cli(kit_settings: Settings) -> KitCli:
    """The CLI with the session's base image and wheel cache; a test module adds its project (KIT_PROJECT_DIR or a
    working folder)."""
    return KitCli(KIT_BASE_IMAGE=kit_settings.base_image, KIT_CACHE_DIR=str(kit_settings.cache_dir))


@pytest.fixture(scope="session")
def kit_config(
    kit_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., dict[str, dict[str, Any]]]:
    """`kit config ARGUMENTS...` as a user runs it on this repository: the Claude Desktop entries it wrote, by
    server name."""
    folder = tmp_path_factory.mktemp("entries")

    def run(*arguments: str) -> dict[str, dict[str, Any]]:
        path = folder / f"{uuid.uuid4().hex[:8]}.json"
        KitCli(KIT_PROJECT_DIR=str(kit_settings.project_dir), KIT_BASE_IMAGE=kit_settings.base_image)(
            "config", *arguments, "--output", str(path)
        )
        return dict(json.loads(path.read_text())["mcpServers"])

    return run
