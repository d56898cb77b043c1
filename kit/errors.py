"""The one error type users see: what went wrong, and the command or setting that fixes it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pydantic is not imported at start-up: every command imports this module
    from pydantic import ValidationError


class KitError(Exception):
    """A failure the user can act on. The CLI prints the message without a traceback."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


def validation_problems(exc: ValidationError) -> str:
    """What pydantic found wrong, one `where: what` per problem, for a message."""
    return "; ".join(
        f"{'.'.join(map(str, e['loc'])) or 'table'}: {e['msg'].removeprefix('Value error, ')}"
        for e in exc.errors()
    )
