"""Fixtures every test tree shares: the Docker engine, and a real PostgreSQL server in a container.

The integration tier skips on a laptop without Docker; under CI=true a missing engine fails the run instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import docker
import pytest

from analyst.demo_data import load_postgres
from kit.containers import engine
from kit.errors import KitError
from kit.image.base_image import ensure_recipe_image, load_recipe
from kit.project.settings import load_settings
from kit.reporting import SilentReporter

POSTGRES_IMAGE = "mcpkit/postgres:15"
TEST_LABEL = "io.mcpkit.test-session"
# Containers and networks this test session creates carry its id, so its sweep never touches another session's.
SESSION_ID = uuid.uuid4().hex[:12]


def unavailable(reason: str) -> NoReturn:
    """Skip, except in CI, where the integration tier must run."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI must run the integration tier, but: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def session_labels() -> dict[str, str]:
    """Labels for Docker objects a test creates: the session's sweep removes what a failed test leaves."""
    return {TEST_LABEL: SESSION_ID}


@pytest.fixture(name="unavailable", scope="session")
def unavailable_fixture() -> Callable[[str], NoReturn]:
    return unavailable


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    try:
        with engine.connected() as client:
            yield client
            _remove_leftovers(client)
    except KitError as exc:
        unavailable(str(exc))


def _remove_leftovers(client: docker.DockerClient) -> None:
    """This session's containers and networks still around (a failed test's). Servers started through client
    entries remove themselves (--rm), which the end-to-end tests assert."""
    for container in client.containers.list(all=True, filters={"label": f"{TEST_LABEL}={SESSION_ID}"}):
        container.remove(force=True)
    for network in client.networks.list(filters={"label": f"{TEST_LABEL}={SESSION_ID}"}):
        network.remove()


@pytest.fixture(scope="session")
def postgres_container(docker_client: docker.DockerClient) -> Iterator[Any]:
    """A PostgreSQL 15 server built from Debian packages (no registry needed), with the demo shop loaded."""
    from testcontainers.community.postgres import PostgresContainer
    from testcontainers.core.config import testcontainers_config

    # The reaper image cannot be pulled here; this session labels its containers and removes them itself.
    testcontainers_config.ryuk_disabled = True

    try:
        ensure_recipe_image(load_settings(), load_recipe("postgres"), POSTGRES_IMAGE, SilentReporter())
    except KitError as exc:
        unavailable(f"cannot build the PostgreSQL image: {exc}")
    container = PostgresContainer(
        POSTGRES_IMAGE, username="owner", password="owner-pw", dbname="shop", driver=None
    )
    container.with_kwargs(labels={TEST_LABEL: SESSION_ID})
    with container:
        load_postgres(container.get_connection_url())
        yield container


@pytest.fixture(scope="session")
def postgres_admin_url(postgres_container: Any) -> str:
    """The database owner's URL, as seen from this host."""
    return str(postgres_container.get_connection_url())


@pytest.fixture(scope="session")
def postgres_url(postgres_admin_url: str) -> str:
    """The least-privilege role the analyst's README recommends: it can read the shop and nothing else."""
    import psycopg

    with psycopg.connect(postgres_admin_url, autocommit=True) as connection:
        for statement in (
            "CREATE ROLE analyst_ro LOGIN PASSWORD 'ro-pw' NOSUPERUSER NOCREATEDB NOCREATEROLE",
            "ALTER ROLE analyst_ro SET default_transaction_read_only = on",
            "GRANT CONNECT ON DATABASE shop TO analyst_ro",
            "GRANT USAGE ON SCHEMA public TO analyst_ro",
            "GRANT SELECT ON ALL TABLES IN SCHEMA public TO analyst_ro",
            "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        ):
            connection.execute(statement)
    return postgres_admin_url.replace("owner:owner-pw@", "analyst_ro:ro-pw@")
