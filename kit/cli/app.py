"""What every command shares: the Typer app, the consoles, progress display, and the one place a failure
becomes a message and an exit code.

Start-up time matters here (`kit --version` must answer at once): this module and the command modules import
only Typer at module level; rich when something is printed, and each command the core modules it uses when it
runs (tests/unit/test_cli.py checks what `import kit.cli` loads).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

from kit import __version__
from kit.errors import KitError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID
    from typer._click import Context as ClickContext  # what Typer's own invoke() is typed with

    from kit.project.servers import Server
    from kit.project.settings import Settings

T = TypeVar("T")


@functools.cache
def out() -> Console:
    """Results, on stdout. Made on first use: rich's import is not paid by `kit --version` or `--help`."""
    from rich.console import Console

    return Console()


@functools.cache
def err() -> Console:
    """Progress, messages and errors, on stderr."""
    from rich.console import Console

    return Console(stderr=True)


def escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


class KitGroup(TyperGroup):
    """The root command: every failure a command raises is turned into a message and an exit code here, once."""

    def invoke(self, ctx: ClickContext) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, TyperException):
            raise  # usage errors and explicit exits: Typer reports them
        except KitError as exc:
            if verbose(ctx):
                raise
            print_error(exc)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            err().print("interrupted")
            raise typer.Exit(130) from None
        except Exception as exc:
            if verbose(ctx):
                raise
            err().print(
                "[bold red]unexpected error:[/] " + escape(f"{type(exc).__name__}: {exc}"), highlight=False
            )
            err().print(
                "[yellow]hint:[/] run again with `kit --verbose ...` for the traceback, and report it",
                highlight=False,
            )
            raise typer.Exit(70) from None


app = typer.Typer(
    cls=KitGroup,
    help="Build MCP servers into hardened containers and wire them into LLM clients.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: no <bool> placeholders, and brackets in help texts stay as written
)


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
        err().print(f"[bold cyan]•[/] {prefix}{escape(message)}", highlight=False)

    def detail(self, line: str) -> None:
        if self.verbose:
            prefix = f"{self.server}: " if self.server else ""
            err().print("  " + prefix + line, style="dim", highlight=False, markup=False)
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
        if not err().is_terminal or self.verbose:
            yield self
            return
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        columns = (SpinnerColumn(), TextColumn("[bold]{task.description}"), TimeElapsedColumn(),
                   TextColumn("[dim]{task.fields[status]}"))  # fmt: skip
        with Progress(*columns, console=err(), transient=False) as progress:
            yield RichReporter(self.verbose, progress)


def print_error(exc: KitError, prefix: str = "") -> None:
    err().print(f"[bold red]error:[/] {escape(prefix + exc.message)}", highlight=False)
    if exc.hint:
        err().print(f"[yellow]hint:[/] {escape(exc.hint)}", highlight=False)


def warn(message: str) -> None:
    err().print(f"[yellow]warning:[/] {escape(message)}", highlight=False)


def verbose(ctx: ClickContext) -> bool:
    return bool(ctx.obj and ctx.obj.get("verbose"))


def reporter(ctx: typer.Context) -> RichReporter:
    return RichReporter(verbose(ctx))


def run_live(ctx: typer.Context, work: Callable[[RichReporter], T]) -> T:
    """`work` reporting its progress on stderr: on a terminal, one live line per server."""
    with reporter(ctx).live() as live:
        return work(live)


def load_settings() -> Settings:
    from kit.project.settings import load_settings

    return load_settings()


def selected_servers(cfg: Settings, names: list[str] | None) -> list[Server]:
    from kit.project import servers

    return servers.select(servers.discover(cfg), names or [])


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"mcpkit {__version__}")
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
