"""Commands that wire servers into LLM clients: config, clients."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from kit.cli.app import app, err, load_settings, out, print_error, selected_servers, warn
from kit.cli.params import JsonOption, NamesArgument, assignments
from kit.cli.render import show
from kit.errors import KitError

if TYPE_CHECKING:
    from kit.clients.common import ConfigChange
    from kit.clients.configure import ClientStatus


@app.command()
def config(
    names: NamesArgument = None,
    client: Annotated[
        str,
        typer.Option(
            "--client", "-c", help="Client to write for (`kit clients` lists them), or all detected."
        ),
    ] = "claude-desktop",
    install: Annotated[
        bool, typer.Option("--install", help="Merge the entries into the client's own config file.")
    ] = False,
    uninstall: Annotated[
        bool, typer.Option("--uninstall", help="Remove the kit's entries (of NAMEs, or all).")
    ] = False,
    scope: Annotated[
        Literal["user", "project", "local"],
        typer.Option(
            "--scope",
            help="The user's file, the project's (where the client has one), or local: this project's entries "
            "in the user's file (Claude Code).",
        ),
    ] = "user",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Merge the entries into this file instead.")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the change; write nothing.")] = False,
    private: Annotated[
        bool,
        typer.Option("--private", help="Make the file and its backups readable by you alone (0600)."),
    ] = False,
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
    gateway: Annotated[
        bool,
        typer.Option(
            "--gateway", help="One entry that starts `kit gateway` in front of the servers, not one each."
        ),
    ] = False,
    label: Annotated[
        list[str] | None, typer.Option("--label", help="KEY=VALUE put on the containers the entries start.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Print client config entries that launch the servers' containers, or merge them into (or remove them from)
    a client's config file."""
    from kit.clients import configure
    from kit.clients.common import Machine, apply_change, fragment
    from kit.containers.launch import launch_entries

    cfg = load_settings()
    machine = Machine.current()
    targets = configure.clients_named(client, machine)
    if output is not None and (install or len(targets) > 1):
        raise typer.BadParameter("--output takes one client and no --install", param_hint="--output")
    if uninstall and not (install or output):
        install = True  # removing only makes sense in a file
    selected = [] if uninstall and not names else selected_servers(cfg, names)
    values = assignments(env, "--env", "NAME=VALUE", environ=os.environ)
    volumes = assignments(volume, "--volume", "NAME=/absolute/host/folder")
    labels = assignments(label, "--label", "KEY=VALUE")
    if gateway:
        from kit.gateway.serve import gateway_entry  # the SDK comes with it: only for the gateway's entry

        entries = [gateway_entry(cfg, names or [], values, labels)]
    else:
        entries = launch_entries(cfg, selected, values, extra_labels=labels, network=network, volumes=volumes)
    if not uninstall:
        for tag in configure.unbuilt_images(cfg, selected):
            warn(f"the image {tag} was never built: the entry will fail until `kit build` makes it")
    if not install and output is None:
        (only,) = targets if len(targets) == 1 else (None,)
        if only is None:
            raise typer.BadParameter("printing takes one client", param_hint="--client")
        text = fragment(only.scoped(scope, cfg.project_dir), entries)
        out().print(text, end="", markup=False, highlight=False, emoji=False, soft_wrap=True)
        return
    changes, failed = [], False
    for target in targets:
        try:
            path = output or target.path(scope, machine, cfg.project_dir)
            scoped = target.scoped(scope, cfg.project_dir)
            changes.append(
                apply_change(scoped, path, entries, dry_run=dry_run, uninstall=uninstall, private=private)
            )
        except KitError as exc:  # one client's broken file does not stop the others
            print_error(exc, prefix=f"{target.display_name}: ")
            failed = True
    show(changes, as_json, lambda changes: _report(changes, dry_run))
    if failed:
        raise typer.Exit(1)


def _report(changes: list[ConfigChange], dry_run: bool) -> None:
    for change in changes:
        if dry_run:
            out().print(
                change.diff or f"{change.path}: already up to date",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
            continue
        parts = [f"{verb} {', '.join(names)}" for verb, names in
                 (("added", change.added), ("updated", change.updated), ("removed", change.removed)) if names]  # fmt: skip
        err().print(
            f"{change.client} {change.path}: {'; '.join(parts) or 'already up to date'}", highlight=False
        )
        if change.backup:
            err().print(f"  backup of the previous file: {change.backup}", highlight=False)
    for change in changes:
        for message in change.warnings:
            warn(message)
    if dry_run:
        err().print("dry run: nothing was written")


@app.command("clients")
def list_clients(as_json: JsonOption = False) -> None:
    """Supported clients: where each one's config file is, whether it is installed here and holds the kit's entries."""
    from kit.clients import configure
    from kit.clients.common import Machine

    show(configure.client_statuses(load_settings(), Machine.current()), as_json, _clients_table)


def _clients_table(statuses: list[ClientStatus]) -> None:
    from rich.table import Table

    table = Table("client", "installed", "config file (user scope)", "project file", "format", "kit entries")
    for s in statuses:
        entries = s.problem or (
            ", ".join(s.kit_entries) if s.kit_entries else ("-" if s.exists else "no file")
        )
        table.add_row(
            s.name, "yes" if s.installed else "no", s.path, s.project_path or "-", s.format, entries
        )
    out().print(table)
