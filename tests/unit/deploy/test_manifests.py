"""What `kit deploy` writes: Kubernetes manifests that validate against the Kubernetes schemas, and a compose file
with the same hardening as a client entry, secrets as references only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from ruamel.yaml import YAML

from kit.deploy import compose, k8s
from kit.errors import KitError
from kit.project.servers import discover
from kit.project.settings import load_settings

GATEWAY_IMAGE = "mcpkit/mcpkit-gateway:0.1.0"


@pytest.fixture
def fleet(project: Path) -> tuple[Any, list[Any]]:
    settings = load_settings({}, cwd=project)
    return settings, discover(settings)


def test_every_manifest_validates_against_the_kubernetes_schemas(fleet: tuple[Any, list[Any]]) -> None:
    settings, servers = fleet
    documents = k8s.manifests(settings, servers, GATEWAY_IMAGE)
    for document in documents:
        kubernetes_validate.validate(document, kubernetes_validate.utils.latest_version(), strict=True)
    kinds = sorted((d["kind"], d["metadata"]["name"]) for d in documents)
    assert ("Deployment", "analyst") in kinds and ("Service", "mcpkit-gateway") in kinds
    assert ("NetworkPolicy", "mcpkit-default-deny") in kinds


def test_pods_run_restricted_with_limits_probes_and_secrets_by_reference(
    fleet: tuple[Any, list[Any]],
) -> None:
    settings, servers = fleet
    deployments = {
        d["metadata"]["name"]: d
        for d in k8s.manifests(settings, servers, GATEWAY_IMAGE)
        if d["kind"] == "Deployment"
    }
    assert set(deployments) == {"analyst", "mailer", "mcpkit-gateway"}
    for deployment in deployments.values():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        context = container["securityContext"]
        assert (
            context["runAsNonRoot"]
            and context["readOnlyRootFilesystem"]
            and not context["allowPrivilegeEscalation"]
        )
        assert context["capabilities"] == {"drop": ["ALL"]} and context["seccompProfile"] == {
            "type": "RuntimeDefault"
        }
        assert (
            container["resources"]["limits"]["memory"]
            and container["readinessProbe"]["httpGet"]["path"] == "/health"
        )
        assert container["imagePullPolicy"] == "Never", "images are built locally"
        assert all(
            "value" not in e or not e["name"].endswith(("TOKEN", "URL", "KEY")) for e in container["env"]
        )
    analyst_env = {
        e["name"]: e for e in deployments["analyst"]["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert analyst_env["ANALYST_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "mcpkit-secrets", "key": "analyst-database-url", "optional": True,
    }  # fmt: skip
    gateway_env = {
        e["name"]: e
        for e in deployments["mcpkit-gateway"]["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert gateway_env["OTEL_EXPORTER_OTLP_HEADERS"]["valueFrom"]["secretKeyRef"]["optional"] is True
    assert gateway_env["MCP_GATEWAY_METRICS"]["valueFrom"]["secretKeyRef"]["key"] == "mcp-gateway-metrics"


def test_servers_accept_traffic_only_from_the_gateway(fleet: tuple[Any, list[Any]]) -> None:
    settings, servers = fleet
    policies = {
        d["metadata"]["name"]: d
        for d in k8s.manifests(settings, servers, GATEWAY_IMAGE)
        if d["kind"] == "NetworkPolicy"
    }
    analyst = policies["analyst-traffic"]["spec"]
    assert analyst["ingress"][0]["from"] == [
        {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "mcpkit-gateway"}}}
    ]
    assert analyst["egress"] == [], "the analyst declares no network: it reaches nothing"


def test_the_compose_file_hardens_every_service_and_holds_no_secret(
    fleet: tuple[Any, list[Any]], tmp_path: Path
) -> None:
    settings, servers = fleet
    deployment = compose.write_compose(settings, servers, GATEWAY_IMAGE, tmp_path / "deploy", port=9876)
    document = YAML(typ="safe").load((tmp_path / "deploy" / "compose.yaml").read_text())
    assert document["version"] == "2.4" and document["networks"]["backend"]["internal"] is True
    for name, service in document["services"].items():
        assert service["read_only"] and service["cap_drop"] == ["ALL"] and service["user"] == "10001:10001", (
            name
        )
        assert (
            "no-new-privileges:true" in service["security_opt"]
            and service["pids_limit"]
            and service["mem_limit"]
        )
        assert "healthcheck" in service
    assert "ports" not in document["services"]["analyst"] and document["services"]["analyst"]["networks"] == [
        "backend"
    ]
    assert document["services"]["gateway"]["ports"] == ["127.0.0.1:9876:9876"]
    assert "ANALYST_DATABASE_URL" in document["services"]["analyst"]["environment"], (
        "by name: from .env or the shell"
    )
    assert {"MCP_GATEWAY_METRICS", "OTEL_EXPORTER_OTLP_ENDPOINT"} <= set(
        document["services"]["gateway"]["environment"]
    ), "the gateway's metrics and traces are off unless .env or the shell turns them on"
    env_file = tmp_path / "deploy" / ".env"
    assert env_file.stat().st_mode & 0o777 == 0o600 and "MCPKIT_GATEWAY_TOKEN=" in env_file.read_text()
    tokens = env_file.read_text()
    assert not [
        line
        for line in tokens.splitlines()
        if line.split("=", 1)[1] in (tmp_path / "deploy" / "compose.yaml").read_text()
    ]
    again = compose.write_compose(settings, servers, GATEWAY_IMAGE, tmp_path / "deploy", port=9876)
    assert env_file.read_text() == tokens and len(again.files) == 1, "tokens are made once, then kept"
    assert deployment.gateway_url == "http://127.0.0.1:9876/mcp"


def test_tokens_are_added_to_an_existing_env_file_keeping_what_it_held(
    fleet: tuple[Any, list[Any]], tmp_path: Path
) -> None:
    settings, servers = fleet
    folder = tmp_path / "deploy"
    folder.mkdir()
    mine = "# my settings\nANALYST_DATABASE_URL=postgresql://db/shop\n\nMCPKIT_GATEWAY_TOKEN=chosen-by-me\n"
    (folder / ".env").write_text(mine)
    compose.write_compose(settings, servers, GATEWAY_IMAGE, folder)
    text = (folder / ".env").read_text()
    assert text.startswith(mine) and text.count("MCPKIT_GATEWAY_TOKEN=") == 1
    assert text[len(mine) :].startswith("MCPKIT_BACKEND_TOKEN=")


def test_nothing_to_deploy_is_a_clear_error(fleet: tuple[Any, list[Any]], tmp_path: Path) -> None:
    settings, _ = fleet
    with pytest.raises(KitError, match="no server to deploy"):
        k8s.write_manifests(settings, [], GATEWAY_IMAGE, tmp_path / "k8s.yaml")
    assert not (tmp_path / "k8s.yaml").exists()
