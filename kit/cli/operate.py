"""Commands about running servers and the machine: logs, demo, doctor, gc."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kit.cli.app import app, err, escape, load_settings, out, run_live, selected_servers
from kit.cli.params import JsonOption, NamesArgument
from kit.cli.render import show

if TYPE_CHECKING:
    from kit.containers.gc import GcReport
    from kit.containers.logs import LogLine
    from kit.demo import SessionTranscript
    from kit.doctor import Check


@app.command("logs")
def show_logs(
    name: Annotated[str, typer.Argument(help="Server name.")],
    tail: Annotated[int, typer.Option("--tail", help="Lines per container.")] = 100,
    as_json: JsonOption = False,
) -> None:
    """Recent log lines (the audit trail among them) of a server's containers."""
    from kit.containers import logs

    selected_servers(load_settings(), [name])

    def text(lines: list[LogLine]) -> None:
        if not lines:
            err().print(
                f"no log of {name} to show: clients remove their containers on exit (--rm), and keep no engine "
                "log of them unless KIT_ENGINE_LOGS=true (their stderr, the audit trail among it, goes to the "
                "client's own log). Set MCP_AUDIT_FILE to a path on a volume to keep the trail.",
                highlight=False,
            )
        for line in lines:
            record = dict(line.record)
            head = " ".join(str(record.pop(k, "")) for k in ("time", "level")).strip()
            what = record.pop("event", None) or record.pop("message", "")
            rest = " ".join(f"{k}={json.dumps(v, default=str)}" for k, v in record.items() if k != "logger")
            out().print(
                f"[dim]{line.container} {escape(head)}[/] [bold]{escape(str(what))}[/] {escape(rest)}"
            )

    show(logs.recent_logs(name, tail), as_json, text)


@app.command("demo")
def run_demo(
    ctx: typer.Context,
    output_dir: Annotated[
        Path, typer.Option("--output-dir", help="Where the demo's config file goes.")
    ] = Path("demo"),
    as_json: JsonOption = False,
) -> None:
    """Build the analyst, write a Claude Desktop config, and talk MCP to it through that config's command."""
    from kit import demo

    cfg = load_settings()
    show(run_live(ctx, lambda live: demo.run_demo(cfg, live, output_dir)), as_json, _print_transcript)


def _print_transcript(transcript: SessionTranscript) -> None:
    from rich.table import Table

    out().rule("MCP session through the generated Claude Desktop config")
    out().print(f"config:   {transcript.config_path}", highlight=False)
    out().print(f"command:  {' '.join(transcript.command)}", highlight=False, markup=False)
    out().print(f"server:   {transcript.server} (protocol {transcript.protocol_version})", highlight=False)
    out().print(f"tools:    {', '.join(transcript.tools)}", highlight=False)
    tables = [line for line in transcript.schema.splitlines() if line.startswith("CREATE TABLE")]
    out().print(
        f"schema:   {len(tables)} tables: " + ", ".join(t.split()[2] for t in tables), highlight=False
    )
    out().print(f"run_sql:  {transcript.query}", highlight=False, markup=False)
    table = Table(*transcript.columns)
    for row in transcript.rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    out().print(table)
    out().print(f"session took {transcript.seconds:.2f}s including container start", highlight=False)


@app.command()
def doctor(
    names: NamesArgument = None,
    quick: Annotated[bool, typer.Option("--quick", help="Skip the MCP handshake with each image.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Check the engine, base image, server images, installed client configs and leftovers; exit 1 on a problem."""
    from kit.doctor import diagnose

    cfg = load_settings()
    diagnosis = diagnose(cfg, selected_servers(cfg, names), handshake=not quick)
    show(diagnosis.checks, as_json, _checks_table)
    if diagnosis.problems:
        raise typer.Exit(1)


def _checks_table(checks: list[Check]) -> None:
    from rich.table import Table

    table = Table("", "check", "finding", "fix")
    for check in checks:
        table.add_row("[green]ok[/]" if check.ok else "[red]PROBLEM[/]", check.subject, escape(check.detail),
                      "" if check.ok else escape(check.fix))  # fmt: skip
    out().print(table)
    problems = sum(not check.ok for check in checks)
    err().print(f"{problems} problem(s)" if problems else "no problems", highlight=False)


@app.command()
def gc(
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
    from kit.containers.gc import collect_garbage
    from kit.identity import project_id

    def text(report: GcReport) -> None:
        items = report.leftovers if dry_run else report.removed
        for item in items:
            size = f" ({item.bytes / 1e6:.0f} MB)" if item.bytes else ""
            verb = "would remove" if dry_run else "removed"
            out().print(f"{verb} {item.kind} {item.id}: {item.what}{size}", highlight=False)
        freed = "would free" if dry_run else "freed"
        err().print(f"{len(items)} item(s); {freed} {report.reclaimed_bytes / 1e6:.0f} MB", highlight=False)

    project = None if all_projects else project_id(load_settings().project_dir)
    show(collect_garbage(project, dry_run=dry_run, cache=cache), as_json, text)
