"""mcpkit.toml edits: the user's comments, order and formatting survive `kit add` and `kit remove`."""

import tomllib
from pathlib import Path

import pytest

from kit.errors import KitError
from kit.project import manifest

ORIGINAL = """\
# my servers, by hand
[kit]
image_prefix = "acme"   # our registry namespace

[servers.time]  # the clock
package = "mcp-server-time"
script = "mcp-server-time"

# trailing words
"""


def test_adding_a_server_keeps_comments_order_and_other_tables(tmp_path: Path) -> None:
    (tmp_path / "mcpkit.toml").write_text(ORIGINAL)
    manifest.add_server(
        tmp_path,
        "sqlite",
        {
            "volumes": {"data": "/data"},
            "package": "mcp-server-sqlite",
            "pins": ["mcp<2"],
            "limits": {"memory": "256m"},
        },
    )
    text = (tmp_path / "mcpkit.toml").read_text()
    assert text.startswith(
        ORIGINAL.rstrip("\n").rsplit("\n", 1)[0]
    )  # everything before the end, byte for byte
    for kept in (
        "# my servers, by hand",
        "# our registry namespace",
        "[servers.time]  # the clock",
        "# trailing words",
    ):
        assert kept in text
    data = tomllib.loads(text)
    assert list(data["servers"]) == ["time", "sqlite"]
    sqlite = data["servers"]["sqlite"]
    assert list(sqlite) == ["package", "pins", "volumes", "limits"], "keys in the documented order"
    assert sqlite["limits"] == {"memory": "256m"} and sqlite["volumes"] == {"data": "/data"}


def test_removing_a_server_gives_back_the_file_it_was_added_to(tmp_path: Path) -> None:
    path = tmp_path / "mcpkit.toml"
    path.write_text(ORIGINAL)
    manifest.add_server(tmp_path, "fetch", {"package": "mcp-server-fetch", "network": True})
    manifest.remove_server(tmp_path, "fetch")
    assert path.read_text() == ORIGINAL


def test_add_creates_the_manifest_and_refuses_a_second_entry_of_a_name(tmp_path: Path) -> None:
    manifest.add_server(tmp_path, "time", {"package": "mcp-server-time"})
    assert manifest.server_tables(tmp_path) == {"time": {"package": "mcp-server-time"}}
    with pytest.raises(KitError, match="already exists"):
        manifest.add_server(tmp_path, "time", {"package": "other"})
    manifest.add_server(tmp_path, "time", {"package": "other"}, replace=True)
    assert manifest.server_tables(tmp_path)["time"] == {"package": "other"}


def test_removing_an_unknown_server_and_editing_a_broken_file_are_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "mcpkit.toml"
    path.write_text(ORIGINAL)
    with pytest.raises(KitError, match=r"no \[servers.nope\]"):
        manifest.remove_server(tmp_path, "nope")
    path.write_text("[servers.time\npackage = ")
    with pytest.raises(KitError, match="not valid TOML"):
        manifest.add_server(tmp_path, "x", {"package": "x"})
    assert path.read_text() == "[servers.time\npackage = "
