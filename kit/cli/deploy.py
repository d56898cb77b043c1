"""Commands that deploy beyond one machine: deploy compose, deploy k8s."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kit.cli.app import app, err, load_settings, out, run_live, selected_servers
from kit.cli.params import JsonOption, NamesArgument
from kit.cli.render import show

if TYPE_CHECKING:
    from kit.project.servers import Server
    from kit.project.settings import Settings

deploy_app = typer.Typer(help="Deploy the servers and the gateway on existing engines.", no_args_is_help=True)
app.add_typer(deploy_app, name="deploy")


def _gateway_image(ctx: typer.Context, cfg: Settings, servers: list[Server]) -> str:
    """Build (or find unchanged) the gateway's image, like any server's, once the deployment makes sense."""
    from kit.deploy import topology
    from kit.deploy.gateway_image import gateway_server
    from kit.gateway.settings import load_gateway_settings
    from kit.identity import image_tag
    from kit.image.builder import build_servers, raise_for_failures

    topology.require_servers(servers)
    load_gateway_settings(cfg)
    server = gateway_server(cfg)
    run_live(ctx, lambda live: raise_for_failures(build_servers(cfg, [server], live)))
    return image_tag(cfg, server)


@deploy_app.command("compose")
def deploy_compose(
    ctx: typer.Context,
    names: NamesArgument = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for compose.yaml and .env.")] = Path(
        "deploy/compose"
    ),
    port: Annotated[int, typer.Option("--port", help="The gateway's published port.")] = 8765,
    bind: Annotated[str, typer.Option("--bind", help="Host address the port is published on.")] = "127.0.0.1",
    as_json: JsonOption = False,
) -> None:
    """Write a compose file: every server over streamable HTTP on a private network, behind the gateway."""
    from kit.deploy import compose, topology

    cfg = load_settings()
    selected = selected_servers(cfg, names)
    image = _gateway_image(ctx, cfg, selected)
    deployment = compose.write_compose(cfg, selected, image, output, port=port, bind=bind)

    def text(_: Any) -> None:
        for path in deployment.files:
            out().print(str(path), highlight=False)
        err().print(f"next: docker-compose -f {deployment.folder / 'compose.yaml'} up -d; the gateway answers at "
                  f"{deployment.gateway_url} with the token {topology.GATEWAY_TOKEN} from .env", highlight=False)  # fmt: skip

    show({"gateway_image": image, **asdict(deployment)}, as_json, text)


@deploy_app.command("k8s")
def deploy_k8s(
    ctx: typer.Context,
    names: NamesArgument = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="The manifests file.")] = Path(
        "deploy/k8s.yaml"
    ),
    port: Annotated[int, typer.Option("--port", help="The gateway Service's port.")] = 8765,
    as_json: JsonOption = False,
) -> None:
    """Write Kubernetes manifests: a Deployment, Service and NetworkPolicy per server and for the gateway."""
    from kit.deploy import k8s

    cfg = load_settings()
    selected = selected_servers(cfg, names)
    image = _gateway_image(ctx, cfg, selected)
    k8s.write_manifests(cfg, selected, image, output, port=port)
    written = {"gateway_image": image, "files": [output], "secret_command": k8s.secret_command(selected)}

    def text(_: Any) -> None:
        out().print(str(output), highlight=False)
        err().print(f"the Secret they refer to: {written['secret_command']}", highlight=False)

    show(written, as_json, text)
