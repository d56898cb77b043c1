"""What several commands take: server names, --json, and NAME=VALUE options (one parser for all of them)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

import typer

JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
NamesArgument = Annotated[
    list[str] | None,
    typer.Argument(help="Server names (default: all).", show_default=False, metavar="NAME"),
]


def assignments(
    options: list[str] | None, flag: str, form: str, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """`NAME=VALUE` options as a dict. Given `environ`, a bare NAME takes its value from it (and `NAME=` is an
    empty value); otherwise both halves are required, as `form` shows."""
    values: dict[str, str] = {}
    for option in options or []:
        name, sep, value = option.partition("=")
        if environ is not None and name and not sep:
            if name not in environ:
                raise typer.BadParameter(
                    f"{name} is not set in this shell; write {name}=VALUE", param_hint=flag
                )
            value = environ[name]
        elif not name or not sep or (environ is None and not value):
            raise typer.BadParameter(f"{option!r}: write {form}", param_hint=flag)
        values[name] = value
    return values
