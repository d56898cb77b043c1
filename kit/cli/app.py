"""What every command shares: the Typer app, the consoles, progress display, and turning a KitError into a
message and an exit code."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from kit import __version__
from kit.errors import KitError
from kit.project import servers, settings

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
    """Progress on stderr: on a terminal one live line per server; otherwise (CI, pipes) a line per step.
    With --verbose, every line of tool output too."""

    def __init__(self, verbose: bool, progress: Progress | None = None, server: str | None = None) -> None:
        self.verbose = verbose
        self.server = server
        self._progress = progress
        self._tasks: dict[str, TaskID] = {}

    def step(self, message: str) -> None:
        if self._progress is not None and self.server is not None:
            self._progress.update(self._task(), status=message.splitlines()[0])
            return
        prefix = f"[bold]{escape(self.server)}[/]: " if self.server else ""
        err.print(f"[bold cyan]•[/] {prefix}{escape(message)}", highlight=False)

    def detail(self, line: str) -> None:
        if self.verbose:
            prefix = f"{self.server}: " if self.server else ""
            err.print("  " + prefix + line, style="dim", highlight=False, markup=False)
        elif self._progress is not None and self.server is not None:
            self._progress.update(self._task(), status=line[:100])

    def for_server(self, name: str) -> RichReporter:
        reporter = RichReporter(self.verbose, self._progress, name)
        reporter._tasks = self._tasks
        return reporter

    def _task(self) -> TaskID:
        assert self._progress is not None and self.server is not None
        if self.server not in self._tasks:
            self._tasks[self.server] = self._progress.add_task(self.server, total=None, status="")
        return self._tasks[self.server]

    @contextmanager
    def live(self) -> Iterator[RichReporter]:
        if not err.is_terminal or self.verbose:
            yield self
            return
        columns = (SpinnerColumn(), TextColumn("[bold]{task.description}"), TimeElapsedColumn(),
                   TextColumn("[dim]{task.fields[status]}"))  # fmt: skip
        with Progress(*columns, console=err, transient=False) as progress:
            yield RichReporter(self.verbose, progress)


def run(ctx: typer.Context, action: Callable[[], T]) -> T:
    """Call the core; a KitError becomes a message and exit code 1, with the traceback only under --verbose."""
    try:
        return action()
    except KitError as exc:
        if verbose(ctx):
            raise
        print_error(exc)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err.print("interrupted")
        raise typer.Exit(130) from None
    except Exception as exc:
        if verbose(ctx):
            raise
        err.print("[bold red]unexpected error:[/] " + escape(f"{type(exc).__name__}: {exc}"), highlight=False)
        err.print(
            "[yellow]hint:[/] run again with `kit --verbose ...` for the traceback, and report it",
            highlight=False,
        )
        raise typer.Exit(70) from None


def print_error(exc: KitError, prefix: str = "") -> None:
    err.print(f"[bold red]error:[/] {escape(prefix + exc.message)}", highlight=False)
    if exc.hint:
        err.print(f"[yellow]hint:[/] {escape(exc.hint)}", highlight=False)


def warn(message: str) -> None:
    err.print(f"[yellow]warning:[/] {escape(message)}", highlight=False)


def verbose(ctx: typer.Context) -> bool:
    return bool(ctx.obj and ctx.obj.get("verbose"))


def reporter(ctx: typer.Context) -> RichReporter:
    return RichReporter(verbose(ctx))


def print_json(data: Any) -> None:
    out.print_json(data=data, default=str)


def load_settings(ctx: typer.Context) -> settings.Settings:
    return run(ctx, settings.load_settings)


def selected_servers(
    ctx: typer.Context, cfg: settings.Settings, names: list[str] | None
) -> list[servers.Server]:
    return run(ctx, lambda: servers.select(servers.discover(cfg), names or []))


def run_live(ctx: typer.Context, work: Callable[[RichReporter], T]) -> T:
    """`work` reporting its progress on stderr: on a terminal, one live line per server."""
    with reporter(ctx).live() as live:
        return run(ctx, lambda: work(live))


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
