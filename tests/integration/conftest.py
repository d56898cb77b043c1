"""The integration tier: the real Docker engine, real images, the SDK's stdio client.

Without an engine these tests skip on a laptop; under CI=true a missing engine is a failure, never a skip.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import docker
import platformdirs
import pytest

from kit.errors import KitError
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


@pytest.fixture(scope="session")
def kit_settings(docker_client: docker.DockerClient) -> Settings:
    return load_settings({"KIT_BASE_IMAGE": BASE_IMAGE, "KIT_CACHE_DIR": str(SHARED_CACHE)}, cwd=REPO)


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
