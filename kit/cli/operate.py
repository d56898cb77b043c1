"""Commands about running servers and the machine: logs, demo, doctor, gc."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from kit import demo
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
from kit.containers import logs
from kit.containers.gc import collect_garbage
from kit.doctor import diagnose
from kit.identity import project_id


@app.command("logs")
def show_logs(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Server name.")],
    tail: Annotated[int, typer.Option("--tail", help="Lines per container.")] = 100,
    as_json: JsonOption = False,
) -> None:
    """Recent log lines (the audit trail among them) of a server's containers."""
    selected_servers(ctx, load_settings(ctx), [name])
    lines = run(ctx, lambda: logs.recent_logs(name, tail))
    if as_json:
        print_json([asdict(line) for line in lines])
        return
    if not lines:
        err.print(
            f"no container of {name} is running: clients remove theirs on exit (--rm). "
            "Set MCP_AUDIT_FILE to a path on a volume to keep the trail.",
            highlight=False,
        )
    for line in lines:
        record = dict(line.record)
        head = " ".join(str(record.pop(k, "")) for k in ("time", "level")).strip()
        what = record.pop("event", None) or record.pop("message", "")
        rest = " ".join(
            f"{k}={json.dumps(v, default=str)}" for k, v in record.items() if k not in ("logger",)
        )
        out.print(f"[dim]{line.container} {escape(head)}[/] [bold]{escape(str(what))}[/] {escape(rest)}")


@app.command("demo")
def run_demo(
    ctx: typer.Context,
    output_dir: Annotated[
        Path, typer.Option("--output-dir", help="Where the demo's config file goes.")
    ] = Path("demo"),
) -> None:
    """Build the analyst, write a Claude Desktop config, and talk MCP to it through that config's command."""
    cfg = load_settings(ctx)
    transcript = run_live(ctx, lambda live: demo.run_demo(cfg, live, output_dir))
    out.rule("MCP session through the generated Claude Desktop config")
    out.print(f"config:   {transcript.config_path}", highlight=False)
    out.print(f"command:  {' '.join(transcript.command)}", highlight=False, markup=False)
    out.print(f"server:   {transcript.server} (protocol {transcript.protocol_version})", highlight=False)
    out.print(f"tools:    {', '.join(transcript.tools)}", highlight=False)
    tables = [line for line in transcript.schema.splitlines() if line.startswith("CREATE TABLE")]
    out.print(f"schema:   {len(tables)} tables: " + ", ".join(t.split()[2] for t in tables), highlight=False)
    out.print(f"run_sql:  {transcript.query}", highlight=False, markup=False)
    table = Table(*transcript.columns)
    for row in transcript.rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    out.print(table)
    out.print(f"session took {transcript.seconds:.2f}s including container start", highlight=False)


@app.command()
def doctor(
    ctx: typer.Context,
    names: NamesArgument = None,
    quick: Annotated[bool, typer.Option("--quick", help="Skip the MCP handshake with each image.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Check the engine, base image, server images, installed client configs and leftovers; exit 1 on a problem."""
    cfg = load_settings(ctx)
    selected = selected_servers(ctx, cfg, names)
    diagnosis = run(ctx, lambda: diagnose(cfg, selected, handshake=not quick))
    if as_json:
        print_json([asdict(c) for c in diagnosis.checks])
    else:
        table = Table("", "check", "finding", "fix")
        for check in diagnosis.checks:
            table.add_row("[green]ok[/]" if check.ok else "[red]PROBLEM[/]", check.subject, escape(check.detail),
                          "" if check.ok else escape(check.fix))  # fmt: skip
        out.print(table)
        err.print(
            f"{len(diagnosis.problems)} problem(s)" if diagnosis.problems else "no problems", highlight=False
        )
    if diagnosis.problems:
        raise typer.Exit(1)


@app.command()
def gc(
    ctx: typer.Context,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would go; remove nothing.")] = False,
    cache: Annotated[
        bool, typer.Option("--cache", help="Also each server's build cache (its newest build stage).")
    ] = False,
    all_projects: Annotated[
        bool, typer.Option("--all-projects", help="Every project's leftovers, not only this project's.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Remove what the kit left for this project: stopped kit containers, old build stages, superseded server
    images. Never a running container, one compose manages, or a volume."""
    project = None if all_projects else project_id(load_settings(ctx).project_dir)
    report = run(ctx, lambda: collect_garbage(project, dry_run=dry_run, cache=cache))
    if as_json:
        print_json(asdict(report))
        return
    for item in report.leftovers if dry_run else report.removed:
        size = f" ({item.bytes / 1e6:.0f} MB)" if item.bytes else ""
        out.print(
            f"{'would remove' if dry_run else 'removed'} {item.kind} {item.id}: {item.what}{size}",
            highlight=False,
        )
    verb = "would free" if dry_run else "freed"
    err.print(
        f"{len(report.leftovers if dry_run else report.removed)} item(s); {verb} {report.reclaimed_bytes / 1e6:.0f} MB",
        highlight=False,
    )
