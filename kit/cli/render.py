"""The one way a command shows what a core returned: with --json the result object itself, as JSON on stdout;
otherwise the command's text for people."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from kit.cli.app import out

T = TypeVar("T")


def show(result: T, as_json: bool, text: Callable[[T], object] | None = None) -> T:
    """Dataclasses, pydantic models, paths, lists and dicts of them all serialise the same way."""
    if as_json:
        from pydantic_core import to_jsonable_python

        out().print_json(data=to_jsonable_python(result))
    elif text is not None:
        text(result)
    return result
