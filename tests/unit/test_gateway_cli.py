"""`kit gateway`'s observability options, checked before anything starts (Docker is unreachable on purpose)."""

import json
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


def test_the_gateway_entry_carries_opentelemetrys_variables_for_the_gateway_itself(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    target = project / "claude_desktop_config.json"
    endpoint = "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318"
    result = CliRunner().invoke(app, ["config", "--gateway", "--output", str(target), "--env", endpoint])
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(target.read_text())["mcpServers"].values()
    assert entry["env"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:4318"
    per_server = CliRunner().invoke(app, ["config", "--output", str(target), "--env", endpoint])
    assert per_server.exit_code == 1 and "OTEL_EXPORTER_OTLP_ENDPOINT" in per_server.stderr, (
        "a server's own entry takes only what the server declares"
    )
