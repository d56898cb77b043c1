"""`kit add` refuses what it cannot take before anything runs: text that is no requirement, and requirements that
would build source on the host."""

from __future__ import annotations

from pathlib import Path

import pytest

from kit.errors import KitError
from kit.image.index_servers import add_server
from kit.project.settings import load_settings
from kit.reporting import SilentReporter


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"package": "not a package!"}, "kit add: invalid requirement"),
        ({"package": ""}, "kit add: invalid requirement"),
        ({"package": "x @ file:///tmp/x"}, "points at source"),
        ({"package": "x @ https://example.invalid/x-1.tar.gz"}, "points at source"),
        (
            {"package": "mcp-server-time", "pins": ["mcp @ git+https://example.invalid/mcp.git"]},
            "points at source",
        ),
    ],
)
def test_add_refuses_before_resolving(tmp_path: Path, table: dict[str, object], message: str) -> None:
    (tmp_path / "mcpkit.toml").write_text("")
    with pytest.raises(KitError, match=message):
        add_server(load_settings({}, cwd=tmp_path), table, SilentReporter())
