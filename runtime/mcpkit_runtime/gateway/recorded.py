"""Tool lists to answer with before a server runs: what each server listed the last time the gateway started it,
kept in a cache directory. A list is found again only for the same server started the same way (its name and
command line, environment included, hashed; container labels left out); one gone stale (an image rebuilt under the same tag) is
corrected when the server starts, and clients with a session are sent notifications/tools/list_changed.

The kit can also hand a Downstream the list recorded at build time (`recorded=`, e.g. from an image label holding
a tools/list result); that one wins over the cache.
"""

from __future__ import annotations

from mcpkit_runtime import sdk as _sdk  # noqa: F401 - first: the SDK loads through the seam (sdk.py)

# isort: split
import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import mcp_types as types
from mcp import StdioServerParameters

from mcpkit_runtime.gateway.downstream import Downstream, HttpTarget
from mcpkit_runtime.gateway.engine import ContainerTarget


def _without_labels(args: list[str]) -> list[str]:
    """A command line without its `--label K=V` pairs: the engine's bookkeeping (a gateway puts its process id
    there), which the server never sees."""
    kept: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg == "--label":
            skip = True
        elif not arg.startswith("--label="):
            kept.append(arg)
    return kept


def parse_tools(text: str) -> list[types.Tool]:
    """A tools/list result as JSON (`{"tools": [...]}`), as recorded at build time or cached."""
    return types.ListToolsResult.model_validate_json(text).tools


class ToolCache:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, downstream: Downstream) -> Path | None:
        target = downstream.target
        if isinstance(target, ContainerTarget):
            target = target.fallback  # the same container, whichever way it is started
        if isinstance(target, StdioServerParameters):
            how: Any = [target.command, _without_labels(target.args), sorted((target.env or {}).items())]
        elif isinstance(target, HttpTarget):
            how = target.url
        else:
            return None  # a server in this process has nothing stable to be found again by
        digest = hashlib.sha256(json.dumps([downstream.name, how]).encode()).hexdigest()[:24]
        return self.directory / f"{downstream.name}-{digest}.json"

    def load(self, downstream: Downstream) -> list[types.Tool] | None:
        path = self._path(downstream)
        if path is None:
            return None
        try:
            return parse_tools(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None  # none yet, or unreadable: the server is asked

    def save(self, downstream: Downstream, tools: list[types.Tool]) -> None:
        path = self._path(downstream)
        if path is None:
            return
        text = types.ListToolsResult(tools=tools).model_dump_json(by_alias=True, exclude_none=True)
        with contextlib.suppress(
            OSError
        ):  # a cache that cannot be written only costs the next start its speed
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tools-")
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.write(text)
            os.replace(temporary, path)
