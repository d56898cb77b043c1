"""Commands that make images: base, build, lock, schema lock|check, sbom, runtime-wheel."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kit.cli.app import app, err, load_settings, out, print_error, reporter, run_live, selected_servers
from kit.cli.params import JsonOption, NamesArgument
from kit.cli.render import show
from kit.errors import KitError

if TYPE_CHECKING:
    from kit.image.base_image import BaseResult
    from kit.image.builder import BuildResult
    from kit.image.locking import LockReport
    from kit.image.schemas import SchemaReport


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
    from kit.image import base_image, bases

    cfg = load_settings()
    cfg = bases.for_suite(cfg, suite) if suite else cfg

    def text(result: BaseResult) -> None:
        size = f"{result.size_bytes / 1e6:.0f} MB"
        state = "built" if result.built else "already there"
        err().print(f"base image {result.tag} ({size}): {state}", highlight=False)

    show(run_live(ctx, lambda live: base_image.ensure_base_image(cfg, live, force=force)), as_json, text)


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
    from kit.image import builder

    cfg = load_settings()
    selected = selected_servers(cfg, names)
    # A server named on the command line is always tried again; a fleet build skips what failed from the same inputs.
    results = run_live(
        ctx,
        lambda live: builder.build_servers(
            cfg, selected, live, force=force, jobs=jobs, retry_failed=bool(names)
        ),
    )
    show(results, as_json, _build_table)
    if not all(r.ok for r in results):
        raise typer.Exit(1)


def _build_table(results: list[BuildResult]) -> None:
    from rich.table import Table

    table = Table("server", "image", "status", "smoke test", "size", "time")
    for r in results:
        size = f"{r.size_bytes / 1e6:.0f} MB" if r.size_bytes else "-"
        table.add_row(r.server, r.tag, r.status, r.smoke, size, f"{r.seconds:.1f}s")
    out().print(table)
    for r in results:
        if not r.ok:
            print_error(KitError(r.error or "failed", hint=r.hint), prefix=f"{r.server}: ")


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
    from kit.image import locking

    cfg = load_settings()
    selected = selected_servers(cfg, names)

    def text(reports: list[LockReport]) -> None:
        for r in reports:
            out().print(f"{r.server}: {r.status}, {r.packages} packages in {r.path}", highlight=False)

    show(
        run_live(ctx, lambda live: locking.lock_servers(cfg, selected, live, upgrade=upgrade)), as_json, text
    )


@app.command("sbom")
def write_sbom(
    name: Annotated[str, typer.Argument(help="Server name.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: NAME.cdx.json).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Write a CycloneDX (JSON) bill of materials of what is installed in the server's image."""
    from kit.image import sbom

    cfg = load_settings()
    (server,) = selected_servers(cfg, [name])
    target = output or Path(f"{name}.cdx.json")
    bom = sbom.write_sbom(cfg, server, target)
    written = {"file": target, "components": len(bom.components)}
    show(
        written,
        as_json,
        lambda w: err().print(f"wrote {w['file']}: {w['components']} components", highlight=False),
    )


@app.command("runtime-wheel")
def runtime_wheel(ctx: typer.Context) -> None:
    """Print the folder holding the mcpkit-runtime wheel, for `pip install --find-links` outside the kit."""
    from kit.image import wheelhouse

    folder = wheelhouse.runtime_wheel_dir(load_settings().cache_dir, reporter(ctx))
    out().print(str(folder), highlight=False, soft_wrap=True)


schema_app = typer.Typer(
    help="Versioned tool schemas: record them, and refuse breaking changes.", no_args_is_help=True
)
app.add_typer(schema_app, name="schema")


def _schema_text(reports: list[SchemaReport]) -> None:
    for report in reports:
        verb = "locked" if report.written else "matches"
        out().print(f"{report.server}: {verb} {report.lock}", highlight=False)
        for change in report.changes:
            out().print(
                f"  {'BREAKING' if change.breaking else 'ok'}  {change.tool}: {change.detail}",
                highlight=False,
            )


@schema_app.command("lock")
def schema_lock_command(names: NamesArgument = None, as_json: JsonOption = False) -> None:
    """Record each built server's tools, schemas and resources in its schema lock file."""
    from kit.image import schemas

    cfg = load_settings()
    show(schemas.lock(cfg, selected_servers(cfg, names)), as_json, _schema_text)


@schema_app.command("check")
def schema_check_command(names: NamesArgument = None, as_json: JsonOption = False) -> None:
    """Compare each built server with its schema lock; fail on a breaking change (exit 1)."""
    from kit.image import schemas

    cfg = load_settings()
    show(schemas.check(cfg, selected_servers(cfg, names)), as_json, _schema_text)
