"""How core modules report progress without knowing about the terminal: the CLI passes a Reporter."""

from __future__ import annotations

from typing import Protocol


class Reporter(Protocol):
    def step(self, message: str) -> None:
        """A stage begins (shown prominently)."""

    def detail(self, line: str) -> None:
        """A line of tool output inside the current stage (shown dimmed, or dropped)."""

    def for_server(self, name: str) -> Reporter:
        """The reporter for one server of a fleet built in parallel (its own progress line)."""


class SilentReporter:
    def step(self, message: str) -> None:
        pass

    def detail(self, line: str) -> None:
        pass

    def for_server(self, name: str) -> SilentReporter:
        return self
