"""Commands that wire servers into LLM clients: config."""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from kit.cli.app import (
    JsonOption,
    NamesArgument,
    app,
    err,
    load_settings,
    out,
    print_json,
    run,
    selected_servers,
    warn,
)
from kit.clients import configure


@app.command()
def config(
    ctx: typer.Context,
    names: NamesArgument = None,
    client: Annotated[
        str, typer.Option("--client", "-c", help="Client whose config format to write.")
    ] = "claude-desktop",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Merge the entries into this file.")
    ] = None,
    install: Annotated[
        bool, typer.Option("--install", help="Merge the entries into the client's own config file.")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the change; write nothing.")] = False,
    env: Annotated[
        list[str] | None,
        typer.Option(
            "--env", "-e", help="NAME=VALUE for the entry's env block (bare NAME: copy from this shell)."
        ),
    ] = None,
    network: Annotated[
        str | None,
        typer.Option(
            "--network", help="Docker network to attach the servers to (default: none, unless declared)."
        ),
    ] = None,
    volume: Annotated[
        list[str] | None,
        typer.Option(
            "--volume",
            help="NAME=/host/folder: bind a declared volume to a host folder (default: a named volume).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Print client config entries that launch the servers' containers, or merge them into a config file."""
    cfg = load_settings(ctx)
    selected = selected_servers(ctx, names)
    client_format = run(ctx, lambda: configure.client_format(client))
    values = run(ctx, lambda: configure.parse_env_options(env or [], os.environ))
    volumes = run(ctx, lambda: configure.parse_volume_options(volume or []))
    entries = run(
        ctx, lambda: configure.launch_entries(cfg, selected, values, network=network, volumes=volumes)
    )
    if output is not None and install:
        err.print("[bold red]error:[/] use either --output FILE or --install, not both")
        raise typer.Exit(2)
    for tag in configure.unbuilt_images(cfg, selected):
        warn(f"the image {tag} was never built: the entry will fail until `kit build` makes it")
    target = output or (configure.default_config_path(client_format) if install else None)
    if target is None:
        print_json(client_format.render(entries))
        return
    change = run(ctx, lambda: configure.write_config(client_format, entries, target, dry_run=dry_run))
    if as_json:
        print_json({**asdict(change), "path": str(change.path), "backup": str(change.backup or "")})
        return
    if dry_run:
        out.print(change.diff or f"{target}: already up to date", markup=False, highlight=False)
        err.print("dry run: nothing was written")
        return
    summary = ", ".join(
        f"{k} {', '.join(v)}" for k, v in (("added", change.added), ("updated", change.updated)) if v
    )
    err.print(
        f"{client_format.display_name} config {target}: {summary or 'already up to date'}", highlight=False
    )
    if change.backup:
        err.print(f"backup of the previous file: {change.backup}", highlight=False)
