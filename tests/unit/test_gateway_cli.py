"""`kit gateway`'s observability options, checked before anything starts (Docker is unreachable on purpose)."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kit.cli import app


def test_metrics_without_the_http_front_are_refused_with_the_option_that_serves_them(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    result = CliRunner().invoke(app, ["gateway", "--metrics"])
    assert result.exit_code == 1, result.output
    assert "/metrics" in result.stderr and "--http" in result.stderr
