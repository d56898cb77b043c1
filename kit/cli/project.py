"""Commands about the project and its servers: init, new, add, remove, list, env."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kit.cli.app import app, err, load_settings, out, run_live, selected_servers
from kit.cli.params import JsonOption, NamesArgument, assignments
from kit.cli.render import show

if TYPE_CHECKING:
    from kit.image.index_servers import Added
    from kit.image.listing import ServerStatus
    from kit.image.prebuilt import AddedImage
    from kit.project.scaffold import Created


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Project folder (created if needed).")] = Path("."),
    as_json: JsonOption = False,
) -> None:
    """Create an mcpkit project: mcpkit.toml, servers/ and a .gitignore."""
    from kit.project import scaffold

    created = scaffold.init_project(directory)

    def text(created: Created) -> None:
        err().print(f"created the project {created.root}", highlight=False)
        err().print(
            "next: `kit new NAME` scaffolds a server in it, `kit add PACKAGE` adds one from the package index"
        )

    show(created, as_json, text)


@app.command()
def new(
    name: Annotated[str, typer.Argument(help="Server name: lowercase letters, digits and dashes.")],
    as_json: JsonOption = False,
) -> None:
    """Scaffold a server under servers/NAME that builds, passes its smoke test and answers as it is."""
    from kit.project import scaffold

    cfg = load_settings()

    def text(created: Created) -> None:
        for file in created.files:
            out().print(str(file.relative_to(cfg.project_dir)), highlight=False)
        err().print(f"next: `kit build {name}`, then `kit config {name}`", highlight=False)

    show(scaffold.new_server(cfg, name), as_json, text)


@app.command()
def add(
    ctx: typer.Context,
    package: Annotated[
        str | None,
        typer.Argument(
            help="Requirement on the package index, e.g. mcp-server-time==2026.10.19; with --image, the "
            "server's name (default: from the image's).",
            metavar="PACKAGE|NAME",
        ),
    ] = None,
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
        bool, typer.Option("--replace", help="Replace a package-index or image server of that name.")
    ] = False,
    image: Annotated[
        str | None,
        typer.Option(
            "--image",
            help="A server that comes as an image on this machine, e.g. mcp/git:1.0: run as it is in the same "
            "walls, never built or pulled (kit add --image REF NAME -- ARGS).",
        ),
    ] = None,
    command: Annotated[
        str | None,
        typer.Option(
            "--command", help="With --image: the program it starts instead of its own; ARGS follow."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Add a server from the package index to mcpkit.toml: resolved, locked, and its start found and checked.
    With --image, a server that already comes as an image: recorded as it is, checked by `kit build`."""
    from kit.image import index_servers

    cfg = load_settings()
    if package is None and image is None:
        raise typer.BadParameter("name the package to add, or an image with --image", param_hint="PACKAGE")
    if image is not None and package and name:
        raise typer.BadParameter("with --image, NAME or --name, not both", param_hint="NAME")
    if command is not None and image is None:
        raise typer.BadParameter("--command goes with --image", param_hint="--command")
    volumes = assignments(volume, "--volume", "NAME=/path/in/container")
    baked = assignments(file, "--file", "/path/in/container=./project/path")
    table: dict[str, Any] = {
        "package": package if image is None else None, "image": image, "command": [command] if command else [],
        "python": python, "pins": pin or [], "system-packages": system_package or [], "script": script,
        "module": module, "function": function, "args": args or [], "network": network, "env": env or [],
        "secrets": secret or [], "files": baked, "volumes": volumes,
        "limits": {"memory": memory} if memory else None, "smoke": {"skip": smoke_skip} if smoke_skip else None,
    }  # fmt: skip
    table = {k: v for k, v in table.items() if v not in (None, [], {}, False)}
    if image is None:
        added = run_live(
            ctx, lambda live: index_servers.add_server(cfg, table, live, name=name, replace=replace)
        )
        show(added, as_json, _print_added)
        return
    from kit.image import prebuilt

    named = name or package
    found = run_live(
        ctx, lambda live: prebuilt.add_image_server(cfg, table, live, name=named, replace=replace)
    )
    show(found, as_json, _print_added_image)


def _print_added_image(added: AddedImage) -> None:
    missing = " (not on this machine yet)" if added.present is False else ""
    err().print(
        f"added {added.name}: the image {added.image}{missing}, run as it is; next: `kit build {added.name}` "
        "checks that it answers",
        highlight=False,
    )


def _print_added(added: Added) -> None:
    start = " ".join(f"{k} {v}" for k, v in added.start.items())
    err().print(
        f"added {added.name}: {added.package} {added.version} ({added.dependencies} locked packages), "
        f"started by {start}; next: `kit build {added.name}`",
        highlight=False,
    )


@app.command()
def remove(
    name: Annotated[str, typer.Argument(help="A package-index server's name.")], as_json: JsonOption = False
) -> None:
    """Remove a package-index server from mcpkit.toml, with its lock files (`kit gc` removes its images)."""
    from kit.image import index_servers

    removed = index_servers.remove_server(load_settings(), name)

    def text(paths: list[Path]) -> None:
        for path in paths:
            what = f"removed {name} from {path}" if path.suffix == ".toml" else f"deleted {path}"
            err().print(what, highlight=False)

    show(removed, as_json, text)


@app.command("list")
def list_servers(names: NamesArgument = None, as_json: JsonOption = False) -> None:
    """Servers, where each comes from, their images, versions, sizes and build state."""
    from kit.image import listing

    cfg = load_settings()
    show(listing.server_statuses(cfg, selected_servers(cfg, names)), as_json, _status_table)


def _status_table(statuses: list[ServerStatus]) -> None:
    from rich.table import Table

    from kit.project.servers import SmokeCheck

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
    out().print(table)


@app.command("env")
def show_env(as_json: JsonOption = False) -> None:
    """The effective KIT_* settings and where each came from."""
    from kit.project import settings

    show(settings.describe_settings(), as_json, _settings_table)


def _settings_table(rows: list[dict[str, str]]) -> None:
    from rich.table import Table

    table = Table("setting", "value", "source", "meaning")
    for row in rows:
        table.add_row(row["name"], row["value"], row["source"], row["description"])
    out().print(table)
