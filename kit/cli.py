"""The `kit` command line: each command parses, calls one core function, renders its result."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from kit import __version__, demo
from kit.clients import configure
from kit.containers import logs
from kit.errors import KitError
from kit.image import base_image, builder, listing, schemas, wheelhouse
from kit.project import scaffold, servers, settings

app = typer.Typer(
    help="Build MCP servers into hardened containers and wire them into LLM clients.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: no <bool> placeholders, and brackets in help texts stay as written
)
out = Console()
err = Console(stderr=True)
T = TypeVar("T")

JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
NamesArgument = Annotated[
    list[str] | None,
    typer.Argument(help="Server names (default: all).", show_default=False, metavar="NAME"),
]


class RichReporter:
    """Steps as lines on stderr; tool output as a live status line (or every line with --verbose)."""

    def __init__(self, verbose: bool) -> None:
        self.verbose = verbose
        self._status = err.status("", spinner="dots") if err.is_terminal and not verbose else None

    def step(self, message: str) -> None:
        err.print(f"[bold cyan]•[/] {message}", highlight=False)

    def detail(self, line: str) -> None:
        if self.verbose:
            err.print("  " + line, style="dim", highlight=False, markup=False)
        elif self._status is not None:
            self._status.update(f"[dim]{line[:120]}[/]")

    @contextmanager
    def live(self) -> Iterator[RichReporter]:
        if self._status is None:
            yield self
            return
        with self._status:
            yield self


def _run(ctx: typer.Context, action: Callable[[], T]) -> T:
    """Call the core; a KitError becomes a message and exit code 1, with the traceback only under --verbose."""
    verbose = bool(ctx.obj and ctx.obj.get("verbose"))
    try:
        return action()
    except KitError as exc:
        if verbose:
            raise
        err.print(f"[bold red]error:[/] {escape(exc.message)}", highlight=False)
        if exc.hint:
            err.print(f"[yellow]hint:[/] {escape(exc.hint)}", highlight=False)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err.print("interrupted")
        raise typer.Exit(130) from None
    except Exception as exc:
        if verbose:
            raise
        err.print("[bold red]unexpected error:[/] " + escape(f"{type(exc).__name__}: {exc}"), highlight=False)
        err.print(
            "[yellow]hint:[/] run again with `kit --verbose ...` for the traceback, and report it",
            highlight=False,
        )
        raise typer.Exit(70) from None


def _reporter(ctx: typer.Context) -> RichReporter:
    return RichReporter(bool(ctx.obj and ctx.obj.get("verbose")))


def _print_json(data: Any) -> None:
    out.print_json(json.dumps(data, default=str))


def _version_callback(value: bool) -> None:
    if value:
        out.print(f"mcpkit {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show tool output and tracebacks.")
    ] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version_callback, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    ctx.obj = {"verbose": verbose}


def _settings(ctx: typer.Context) -> settings.Settings:
    return _run(ctx, settings.load_settings)


def _servers(ctx: typer.Context, names: list[str] | None) -> list[servers.Server]:
    cfg = _settings(ctx)
    return _run(ctx, lambda: servers.select(servers.discover(cfg.servers_path), names or []))


@app.command()
def init(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="Project folder (created if needed).")] = Path("."),
) -> None:
    """Create an mcpkit project: mcpkit.toml, servers/ and a .gitignore."""
    created = _run(ctx, lambda: scaffold.init_project(directory))
    err.print(f"created the project {created.root}", highlight=False)
    err.print("next: `kit new NAME` scaffolds a server in it", highlight=False)


@app.command()
def new(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Server name: lowercase letters, digits and dashes.")],
) -> None:
    """Scaffold a server under servers/NAME that builds, passes its smoke test and answers as it is."""
    cfg = _settings(ctx)
    created = _run(ctx, lambda: scaffold.new_server(cfg, name))
    for file in created.files:
        out.print(str(file.relative_to(cfg.project_dir)), highlight=False)
    err.print(f"next: `kit build {name}`, then `kit config {name}`", highlight=False)


@app.command("runtime-wheel")
def runtime_wheel(ctx: typer.Context) -> None:
    """Print the folder holding the mcpkit-runtime wheel, for `pip install --find-links` outside the kit."""
    cfg = _settings(ctx)
    out.print(
        str(_run(ctx, lambda: wheelhouse.runtime_wheel_dir(cfg.cache_dir, _reporter(ctx)))), highlight=False
    )


@app.command()
def base(
    ctx: typer.Context,
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if the tag exists.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Build the Python base image from Debian packages (needs root and debootstrap)."""
    cfg = _settings(ctx)
    reporter = _reporter(ctx)
    with reporter.live():
        result = _run(ctx, lambda: base_image.ensure_base_image(cfg, reporter, force=force))
    if as_json:
        _print_json(asdict(result))


@app.command()
def build(
    ctx: typer.Context,
    names: NamesArgument = None,
    force: Annotated[bool, typer.Option("--force", help="Rebuild even when nothing changed.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Build one image per server, smoke-testing each before it is tagged."""
    cfg = _settings(ctx)
    selected = _servers(ctx, names)
    reporter = _reporter(ctx)
    with reporter.live():
        results = _run(ctx, lambda: builder.build_servers(cfg, selected, reporter, force=force))
    if as_json:
        _print_json([asdict(r) for r in results])
        return
    table = Table("server", "image", "status", "size", "dependencies", "time")
    for r in results:
        table.add_row(
            r.server,
            r.tag,
            r.status,
            f"{r.size_bytes / 1e6:.0f} MB",
            str(len(r.dependencies)),
            f"{r.seconds:.1f}s",
        )
    out.print(table)


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
    cfg = _settings(ctx)
    selected = _servers(ctx, names)
    client_format = _run(ctx, lambda: configure.client_format(client))
    values = _run(ctx, lambda: configure.parse_env_options(env or [], os.environ))
    volumes = _run(ctx, lambda: configure.parse_volume_options(volume or []))
    entries = _run(
        ctx, lambda: configure.launch_entries(cfg, selected, values, network=network, volumes=volumes)
    )
    if output is not None and install:
        err.print("[bold red]error:[/] use either --output FILE or --install, not both")
        raise typer.Exit(2)
    target = output or (configure.default_config_path(client_format) if install else None)
    if target is None:
        _print_json(client_format.render(entries))
        return
    change = _run(ctx, lambda: configure.write_config(client_format, entries, target, dry_run=dry_run))
    if as_json:
        _print_json({**asdict(change), "path": str(change.path), "backup": str(change.backup or "")})
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


schema_app = typer.Typer(
    help="Versioned tool schemas: record them, and refuse breaking changes.", no_args_is_help=True
)
app.add_typer(schema_app, name="schema")


def _render_schema_reports(reports: list[schemas.SchemaReport], as_json: bool) -> None:
    if as_json:
        _print_json([asdict(r) for r in reports])
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
    """Record each built server's tools, schemas and resources in mcp-schema.lock.json beside it."""
    cfg = _settings(ctx)
    selected = _servers(ctx, names)
    _render_schema_reports(_run(ctx, lambda: schemas.lock(cfg, selected)), as_json)


@schema_app.command("check")
def schema_check_command(
    ctx: typer.Context, names: NamesArgument = None, as_json: JsonOption = False
) -> None:
    """Compare each built server with its lock file; fail on a breaking change (exit 1)."""
    cfg = _settings(ctx)
    selected = _servers(ctx, names)
    _render_schema_reports(_run(ctx, lambda: schemas.check(cfg, selected)), as_json)


@app.command("list")
def list_servers(ctx: typer.Context, names: NamesArgument = None, as_json: JsonOption = False) -> None:
    """Servers, their images, versions, sizes and build state."""
    cfg = _settings(ctx)
    selected = _servers(ctx, names)
    statuses = _run(ctx, lambda: listing.server_statuses(cfg, selected))
    if as_json:
        _print_json([asdict(s) for s in statuses])
        return
    table = Table("server", "version", "image", "state", "size", "network", "env")
    for s in statuses:
        size = f"{s.size_bytes / 1e6:.0f} MB" if s.size_bytes else "-"
        table.add_row(
            s.name, s.version, s.image, s.state, size, "yes" if s.network else "none", ", ".join(s.env)
        )
    out.print(table)


@app.command("logs")
def show_logs(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Server name.")],
    tail: Annotated[int, typer.Option("--tail", help="Lines per container.")] = 100,
    as_json: JsonOption = False,
) -> None:
    """Recent log lines (the audit trail among them) of a server's containers."""
    _servers(ctx, [name])
    lines = _run(ctx, lambda: logs.recent_logs(name, tail))
    if as_json:
        _print_json([asdict(line) for line in lines])
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


@app.command("env")
def show_env(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """The effective KIT_* settings and where each came from."""
    rows = _run(ctx, settings.describe_settings)
    if as_json:
        _print_json(rows)
        return
    table = Table("setting", "value", "source", "meaning")
    for row in rows:
        table.add_row(row["name"], row["value"], row["source"], row["description"])
    out.print(table)


@app.command("demo")
def run_demo(
    ctx: typer.Context,
    output_dir: Annotated[
        Path, typer.Option("--output-dir", help="Where the demo's config file goes.")
    ] = Path("demo"),
) -> None:
    """Build the analyst, write a Claude Desktop config, and talk MCP to it through that config's command."""
    cfg = _settings(ctx)
    reporter = _reporter(ctx)
    with reporter.live():
        transcript = _run(ctx, lambda: demo.run_demo(cfg, reporter, output_dir))
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
