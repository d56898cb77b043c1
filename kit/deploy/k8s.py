"""`kit deploy k8s`: Kubernetes manifests for the project's servers and the gateway, in the shape the compose file
has: each server a Deployment and a Service speaking streamable HTTP, reachable only from the gateway (NetworkPolicy),
the gateway the one Service clients reach. Pods run under the restricted Pod Security profile (non-root, read-only
root, no privilege escalation, every capability dropped, RuntimeDefault seccomp) with resource limits and HTTP
probes. Secrets are references to one Secret, never values: `kit deploy k8s` prints the command that creates it.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from kit import files, identity
from kit.containers.launch import server_walls
from kit.deploy.topology import (
    BACKEND_TOKEN,
    GATEWAY_OBSERVE_ENV,
    GATEWAY_TOKEN,
    GATEWAY_WALLS,
    SERVER_PORT,
    backend_token_variables,
    gateway_env,
    http_env,
    require_servers,
)
from kit.project.servers import Server
from kit.project.settings import Settings
from kit.walls import Walls

SECRET = "mcpkit-secrets"
GATEWAY = "mcpkit-gateway"
APP_LABEL = "app.kubernetes.io/name"
PART_OF = {"app.kubernetes.io/part-of": "mcpkit"}


def secret_key(variable: str) -> str:
    return variable.lower().replace("_", "-")


def manifests(
    settings: Settings, servers: list[Server], gateway_image: str, *, port: int = 8765
) -> list[dict[str, Any]]:
    require_servers(servers)
    docs: list[dict[str, Any]] = [_default_deny()]
    for server in servers:
        env = [
            *_values(http_env(SERVER_PORT, [f"{server.name}:*", f"{server.name}.*:*"])),
            _secret("MCP_HTTP_TOKEN", BACKEND_TOKEN),
            *(_secret(name, name, optional=True) for name in server.passed_env),
        ]
        docs += [
            _deployment(
                server.name, identity.image_tag(settings, server), env, SERVER_PORT, server_walls(server)
            ),
            _service(server.name, SERVER_PORT),
            _policy(
                server.name, SERVER_PORT, allowed_from=GATEWAY, egress_anywhere=server.declaration.network
            ),
        ]
    env = [
        *_values(http_env(port, [f"{GATEWAY}:*", f"{GATEWAY}.*:*", "localhost:*", "127.0.0.1:*"])),
        _secret("MCP_HTTP_TOKEN", GATEWAY_TOKEN),
        *_values(gateway_env(settings, servers)),
        *(_secret(variable, BACKEND_TOKEN) for variable in backend_token_variables(servers)),
        *(_secret(name, name, optional=True) for name in GATEWAY_OBSERVE_ENV),
    ]
    docs += [
        _deployment(GATEWAY, gateway_image, env, port, GATEWAY_WALLS),
        _service(GATEWAY, port),
        _policy(GATEWAY, port, allowed_from=None, egress_anywhere=False),
    ]
    return docs


def write_manifests(
    settings: Settings, servers: list[Server], gateway_image: str, output: Path, *, port: int = 8765
) -> None:
    text = io.StringIO()
    YAML().dump_all(manifests(settings, servers, gateway_image, port=port), text)
    files.write_atomically(output, text.getvalue())


def secret_command(servers: list[Server]) -> str:
    """The kubectl command that creates the Secret the manifests refer to (values from the shell)."""
    names = [BACKEND_TOKEN, GATEWAY_TOKEN, *sorted({n for s in servers for n in s.passed_env})]
    literals = " ".join(f'--from-literal={secret_key(n)}="${n}"' for n in names)
    return f"kubectl create secret generic {SECRET} {literals}"


def _metadata(name: str) -> dict[str, Any]:
    return {"name": name, "labels": {APP_LABEL: name, **PART_OF, identity.MANAGED: "true"}}


def _deployment(name: str, image: str, env: list[dict[str, Any]], port: int, walls: Walls) -> dict[str, Any]:
    user = int(walls.user.split(":")[0])
    probe = {"httpGet": {"path": "/health", "port": port}, "periodSeconds": 10, "timeoutSeconds": 3}
    container = {
        "name": name,
        "image": image,
        "imagePullPolicy": "Never",  # built locally by the kit; load it into the cluster's runtime, never pull
        "ports": [{"containerPort": port, "name": "mcp"}],
        "env": env,
        "resources": walls.k8s_resources(),
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": user,
            "runAsGroup": user,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "readinessProbe": {**probe, "initialDelaySeconds": 2},
        "livenessProbe": {**probe, "initialDelaySeconds": 10, "failureThreshold": 3},
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(name),
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {APP_LABEL: name}},
            "template": {
                "metadata": {"labels": {APP_LABEL: name, **PART_OF}},
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [container],
                    "volumes": [
                        {
                            "name": "tmp",
                            "emptyDir": {"medium": "Memory", "sizeLimit": walls.k8s_tmpfs_limit()},
                        }
                    ],
                },
            },
        },
    }


def _service(name: str, port: int) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": _metadata(name),
            "spec": {"selector": {APP_LABEL: name}, "ports": [{"name": "mcp", "port": port, "targetPort": port}]}}  # fmt: skip


DNS = {"to": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
       "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}  # fmt: skip


def _policy(name: str, port: int, *, allowed_from: str | None, egress_anywhere: bool) -> dict[str, Any]:
    """Ingress on its port, from the gateway only (servers) or from anywhere (the gateway); egress: the gateway to
    the servers and DNS, a server nowhere unless it declares it needs the network."""
    source = {"from": [{"podSelector": {"matchLabels": {APP_LABEL: allowed_from}}}]} if allowed_from else {}
    if egress_anywhere:
        egress: list[dict[str, Any]] = [{}]
    elif allowed_from is None:
        egress = [{"to": [{"podSelector": {"matchLabels": PART_OF}}]}, DNS]
    else:
        egress = []
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _metadata(f"{name}-traffic"),
        "spec": {
            "podSelector": {"matchLabels": {APP_LABEL: name}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{**source, "ports": [{"port": port, "protocol": "TCP"}]}],
            "egress": egress,
        },
    }


def _default_deny() -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": _metadata("mcpkit-default-deny"),
            "spec": {"podSelector": {"matchLabels": PART_OF}, "policyTypes": ["Ingress", "Egress"]}}  # fmt: skip


def _values(env: dict[str, str]) -> list[dict[str, Any]]:
    return [{"name": name, "value": value} for name, value in env.items()]


def _secret(name: str, variable: str, optional: bool = False) -> dict[str, Any]:
    reference: dict[str, Any] = {"name": SECRET, "key": secret_key(variable)}
    if optional:
        reference["optional"] = True
    return {"name": name, "valueFrom": {"secretKeyRef": reference}}
