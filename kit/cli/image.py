"""Commands that make images: base, build, lock, schema lock|check, sbom, runtime-wheel."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from kit.cli.app import (
    JsonOption,
    NamesArgument,
    app,
    err,
    load_settings,
    out,
    print_error,
    print_json,
    reporter,
    run,
    run_live,
    selected_servers,
)
from kit.errors import KitError
from kit.image import base_image, bases, builder, locking, sbom, schemas, wheelhouse


@app.command()
def base(
    ctx: typer.Context,
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if the tag exists.")] = False,
    suite: Annotated[
        str | None,
        typer.Option("--suite", help="Debian suite, tagged mcpkit/base:SUITE (trixie: Python 3.13)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Build the Python base image from Debian packages (needs root and debootstrap)."""
    cfg = load_settings(ctx)
    cfg = bases.for_suite(cfg, suite) if suite else cfg
    result = run_live(ctx, lambda live: base_image.ensure_base_image(cfg, live, force=force))
    if as_json:
        print_json(asdict(result))


@app.command()
def build(
    ctx: typer.Context,
    names: NamesArgument = None,
    force: Annotated[bool, typer.Option("--force", help="Rebuild even when nothing changed.")] = False,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", min=1, help="Servers built at once (default: one per CPU).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Build one image per server, in parallel, each smoke-tested before it is tagged; exit 1 if any failed."""
    cfg = load_settings(ctx)
    selected = selected_servers(ctx, cfg, names)
    # A server named on the command line is always tried again; a fleet build skips what failed from the same inputs.
    results = run_live(
        ctx,
        lambda live: builder.build_servers(
            cfg, selected, live, force=force, jobs=jobs, retry_failed=bool(names)
        ),
    )
    if as_json:
        print_json([asdict(r) for r in results])
    else:
        table = Table("server", "image", "status", "smoke test", "size", "time")
        for r in results:
            size = f"{r.size_bytes / 1e6:.0f} MB" if r.size_bytes else "-"
            table.add_row(r.server, r.tag, r.status, r.smoke, size, f"{r.seconds:.1f}s")
        out.print(table)
        for r in results:
            if not r.ok:
                print_error(KitError(r.error or "failed", hint=r.hint), prefix=f"{r.server}: ")
    if not all(r.ok for r in results):
        raise typer.Exit(1)


@app.command()
def lock(
    ctx: typer.Context,
    names: NamesArgument = None,
    upgrade: Annotated[
        bool, typer.Option("--upgrade", help="Resolve anew: the newest versions that fit.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Bring each server's lock (locks/NAME.lock) up to date with its requirements and pins."""
    cfg = load_settings(ctx)
    selected = selected_servers(ctx, cfg, names)
    reports = run_live(ctx, lambda live: locking.lock_servers(cfg, selected, live, upgrade=upgrade))
    if as_json:
        print_json([asdict(r) for r in reports])
        return
    for report in reports:
        out.print(
            f"{report.server}: {report.status}, {report.packages} packages in {report.path}", highlight=False
        )


@app.command("sbom")
def write_sbom(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Server name.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: NAME.cdx.json).")
    ] = None,
) -> None:
    """Write a CycloneDX (JSON) bill of materials of what is installed in the server's image."""
    cfg = load_settings(ctx)
    (server,) = selected_servers(ctx, cfg, [name])
    target = output or Path(f"{name}.cdx.json")
    bom = run(ctx, lambda: sbom.write_sbom(cfg, server, target))
    err.print(f"wrote {target}: {len(bom.components)} components", highlight=False)


@app.command("runtime-wheel")
def runtime_wheel(ctx: typer.Context) -> None:
    """Print the folder holding the mcpkit-runtime wheel, for `pip install --find-links` outside the kit."""
    cfg = load_settings(ctx)
    out.print(
        str(run(ctx, lambda: wheelhouse.runtime_wheel_dir(cfg.cache_dir, reporter(ctx)))), highlight=False
    )


schema_app = typer.Typer(
    help="Versioned tool schemas: record them, and refuse breaking changes.", no_args_is_help=True
)
app.add_typer(schema_app, name="schema")


def _render_schema_reports(reports: list[schemas.SchemaReport], as_json: bool) -> None:
    if as_json:
        print_json([asdict(r) for r in reports])
        return
    for report in reports:
        verb = "locked" if report.written else "matches"
        out.print(f"{report.server}: {verb} {report.lock}", highlight=False)
        for change in report.changes:
            out.print(
                f"  {'BREAKING' if change.breaking else 'ok'}  {change.tool}: {change.detail}",
                highlight=False,
            )


@schema_app.command("lock")
def schema_lock_command(ctx: typer.Context, names: NamesArgument = None, as_json: JsonOption = False) -> None:
    """Record each built server's tools, schemas and resources in its schema lock file."""
    cfg = load_settings(ctx)
    selected = selected_servers(ctx, cfg, names)
    _render_schema_reports(run(ctx, lambda: schemas.lock(cfg, selected)), as_json)


@schema_app.command("check")
def schema_check_command(
    ctx: typer.Context, names: NamesArgument = None, as_json: JsonOption = False
) -> None:
    """Compare each built server with its schema lock; fail on a breaking change (exit 1)."""
    cfg = load_settings(ctx)
    selected = selected_servers(ctx, cfg, names)
    _render_schema_reports(run(ctx, lambda: schemas.check(cfg, selected)), as_json)
