"""Commands about secrets: secret set/list/rm, and launch (what a client entry starts when a secret is stored)."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from kit.cli.app import app, err, out
from kit.cli.params import JsonOption
from kit.cli.render import show

secret_app = typer.Typer(help="Keep secret values out of every file a client reads.", no_args_is_help=True)
app.add_typer(secret_app, name="secret")


@secret_app.command("set")
def set_(
    name: Annotated[str, typer.Argument(help="The variable a server takes, e.g. ANALYST_DATABASE_URL.")],
) -> None:
    """Store a secret's value (typed at a hidden prompt, or read from standard input). `kit config` then writes
    entries that take it from here at each start, so the value is in no config file."""
    from kit import secrets

    if sys.stdin.isatty():
        value = typer.prompt(f"value of {name}", hide_input=True)
    else:
        value = sys.stdin.read().rstrip("\n")
    where = secrets.set_secret(name, value)
    err().print(f"stored {name} in the {where}; run `kit config --install` to use it", highlight=False)


@secret_app.command("list")
def list_(as_json: JsonOption = False) -> None:
    """The names of the stored secrets (never their values)."""
    from kit import secrets

    found = {"backend": secrets.backend_name(), "names": secrets.names()}

    def text(_: object) -> None:
        for name in found["names"]:
            out().print(name, highlight=False)
        err().print(f"{len(found['names'])} secret(s) in the {found['backend']}", highlight=False)

    show(found, as_json, text)


@secret_app.command("rm")
def remove(name: Annotated[str, typer.Argument(help="The secret's name.")]) -> None:
    """Forget a stored secret."""
    from kit import secrets

    if not secrets.delete_secret(name):
        err().print(f"no stored secret named {name}", highlight=False)
        raise typer.Exit(1)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def launch(
    ctx: typer.Context,
    secret: Annotated[
        list[str] | None, typer.Option("--secret", help="NAME of a stored secret to hand to the command.")
    ] = None,
) -> None:
    """Run the command after `--` with the named stored secrets in its environment (client entries use it)."""
    from kit import secrets

    command = list(ctx.args)
    if not command:
        raise typer.BadParameter("give the command after --", param_hint="COMMAND")
    values = secrets.launch_environment(secret or [])
    os.execvpe(command[0], command, {**os.environ, **values})
