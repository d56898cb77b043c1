"""Commands about the project and its servers: init, new, add, remove, list, env."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from kit.cli.app import (
    JsonOption,
    NamesArgument,
    app,
    err,
    load_settings,
    out,
    print_json,
    run,
    run_live,
    selected_servers,
)
from kit.image import index_servers, listing
from kit.project import scaffold, settings
from kit.project.servers import SmokeCheck


@app.command()
def init(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="Project folder (created if needed).")] = Path("."),
) -> None:
    """Create an mcpkit project: mcpkit.toml, servers/ and a .gitignore."""
    created = run(ctx, lambda: scaffold.init_project(directory))
    err.print(f"created the project {created.root}", highlight=False)
    err.print(
        "next: `kit new NAME` scaffolds a server in it, `kit add PACKAGE` adds one from the package index"
    )


@app.command()
def new(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Server name: lowercase letters, digits and dashes.")],
) -> None:
    """Scaffold a server under servers/NAME that builds, passes its smoke test and answers as it is."""
    cfg = load_settings(ctx)
    created = run(ctx, lambda: scaffold.new_server(cfg, name))
    for file in created.files:
        out.print(str(file.relative_to(cfg.project_dir)), highlight=False)
    err.print(f"next: `kit build {name}`, then `kit config {name}`", highlight=False)


@app.command()
def add(
    ctx: typer.Context,
    package: Annotated[
        str, typer.Argument(help="Requirement on the package index, e.g. mcp-server-time==2026.10.19.")
    ],
    args: Annotated[
        list[str] | None,
        typer.Argument(
            help="The server's own arguments, after --: kit add PKG -- --db-path /data/db.sqlite",
            metavar="ARGS",
        ),
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Server name (default: from the package name).")
    ] = None,
    pin: Annotated[
        list[str] | None, typer.Option("--pin", help='Extra requirement, e.g. "mcp<2". Repeatable.')
    ] = None,
    python: Annotated[
        str | None, typer.Option("--python", help='The Python it needs, e.g. "3.13" (a base that has it).')
    ] = None,
    system_package: Annotated[
        list[str] | None,
        typer.Option("--system-package", help="Debian package it needs, e.g. git. Repeatable."),
    ] = None,
    script: Annotated[str | None, typer.Option("--script", help="Console script that starts it.")] = None,
    module: Annotated[str | None, typer.Option("--module", help="Module started with python -m.")] = None,
    function: Annotated[
        str | None, typer.Option("--function", help="module:function that starts it.")
    ] = None,
    env: Annotated[
        list[str] | None, typer.Option("--env", help="Setting passed by name. Repeatable.")
    ] = None,
    secret: Annotated[
        list[str] | None, typer.Option("--secret", help="Secret passed by name. Repeatable.")
    ] = None,
    volume: Annotated[
        list[str] | None,
        typer.Option("--volume", help="NAME=/path/in/container: a writable volume. Repeatable."),
    ] = None,
    file: Annotated[
        list[str] | None,
        typer.Option("--file", help="/path/in/container=./project/path: baked in, read-only. Repeatable."),
    ] = None,
    network: Annotated[bool, typer.Option("--network", help="The server needs network access.")] = False,
    memory: Annotated[str | None, typer.Option("--memory", help="Memory limit, e.g. 256m.")] = None,
    smoke_skip: Annotated[
        str | None,
        typer.Option("--smoke-skip", help="Why the build cannot start it (e.g. it needs its database)."),
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace a package-index server of that name.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Add a server from the package index to mcpkit.toml: resolved, locked, and its start found and checked."""
    cfg = load_settings(ctx)
    volumes = dict(v.partition("=")[::2] for v in volume or [])
    baked = dict(f.partition("=")[::2] for f in file or [])
    table: dict[str, Any] = {
        "package": package, "python": python, "pins": pin or [], "system-packages": system_package or [], "script": script,
        "module": module, "function": function, "args": args or [], "network": network, "env": env or [],
        "secrets": secret or [], "files": baked, "volumes": volumes,
        "limits": {"memory": memory} if memory else None, "smoke": {"skip": smoke_skip} if smoke_skip else None,
    }  # fmt: skip
    table = {k: v for k, v in table.items() if v not in (None, [], {}, False)}
    added = run_live(ctx, lambda live: index_servers.add_server(cfg, table, live, name=name, replace=replace))
    if as_json:
        print_json(asdict(added))
        return
    start = " ".join(f"{k} {v}" for k, v in added.start.items())
    err.print(
        f"added {added.name}: {added.package} {added.version} ({added.dependencies} locked packages), "
        f"started by {start}; next: `kit build {added.name}`",
        highlight=False,
    )


@app.command()
def remove(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="A package-index server's name.")]
) -> None:
    """Remove a package-index server from mcpkit.toml, with its lock files (`kit gc` removes its images)."""
    cfg = load_settings(ctx)
    for path in run(ctx, lambda: index_servers.remove_server(cfg, name)):
        err.print(
            f"removed {name} from {path}" if path.suffix == ".toml" else f"deleted {path}", highlight=False
        )


@app.command("list")
def list_servers(ctx: typer.Context, names: NamesArgument = None, as_json: JsonOption = False) -> None:
    """Servers, where each comes from, their images, versions, sizes and build state."""
    cfg = load_settings(ctx)
    selected = selected_servers(ctx, cfg, names)
    statuses = run(ctx, lambda: listing.server_statuses(cfg, selected))
    if as_json:
        print_json([asdict(s) for s in statuses])
        return
    table = Table("server", "source", "version", "image", "state", "size", "network", "env", "smoke test")
    for s in statuses:
        size = f"{s.size_bytes / 1e6:.0f} MB" if s.size_bytes else "-"
        table.add_row(
            s.name,
            s.source,
            s.version,
            s.image,
            s.state,
            size,
            "yes" if s.network else "none",
            ", ".join(s.env),
            "-" if s.smoke == SmokeCheck().describe() else s.smoke,
        )
    out.print(table)


@app.command("env")
def show_env(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """The effective KIT_* settings and where each came from."""
    rows = run(ctx, settings.describe_settings)
    if as_json:
        print_json(rows)
        return
    table = Table("setting", "value", "source", "meaning")
    for row in rows:
        table.add_row(row["name"], row["value"], row["source"], row["description"])
    out.print(table)
