"""How a package-index server starts, found from its own wheel, and checked before any image is built."""

from collections.abc import Callable
from pathlib import Path

import pytest

from kit.errors import KitError
from kit.image.entrypoints import check_start, discover_start
from kit.image.index_servers import default_name
from kit.image.wheelhouse import runnables
from kit.project.servers import load_index_server


def test_a_single_console_script_is_how_it_starts(make_wheel: Callable[[str, dict[str, str]], Path]) -> None:
    wheel = make_wheel("mcp_server_time-1-py3-none-any.whl", {
        "mcp_server_time/__init__.py": "", "mcp_server_time/__main__.py": "",
        "mcp_server_time-1.dist-info/entry_points.txt": "[console_scripts]\nmcp-server-time = mcp_server_time:main\n",
    })  # fmt: skip
    assert discover_start("mcp-server-time", wheel) == {"script": "mcp-server-time"}


def test_among_several_scripts_the_one_named_like_the_package_wins(
    make_wheel: Callable[[str, dict[str, str]], Path],
) -> None:
    wheel = make_wheel("srv-1-py3-none-any.whl", {
        "srv/__init__.py": "",
        "srv-1.dist-info/entry_points.txt": "[console_scripts]\nsrv-admin = srv:admin\nsrv = srv:main\n",
    })  # fmt: skip
    assert discover_start("srv", wheel) == {"script": "srv"}


def test_without_scripts_a_package_with_a_main_is_run_as_a_module(
    make_wheel: Callable[[str, dict[str, str]], Path],
) -> None:
    wheel = make_wheel("srv-1-py3-none-any.whl", {"srv_pkg/__init__.py": "", "srv_pkg/__main__.py": ""})
    assert discover_start("srv", wheel) == {"module": "srv_pkg"}


def test_a_package_that_offers_no_start_says_what_to_pass(
    make_wheel: Callable[[str, dict[str, str]], Path],
) -> None:
    wheel = make_wheel("lib-1-py3-none-any.whl", {"lib/__init__.py": ""})
    with pytest.raises(KitError, match="cannot tell how to start lib") as caught:
        discover_start("lib", wheel)
    assert "--function" in (caught.value.hint or "")


@pytest.mark.parametrize(
    ("start", "ok"),
    [
        ({"script": "mcp-server-time"}, True),
        ({"script": "mcp-server-tyme"}, False),
        ({"module": "mcp_server_time"}, True),
        ({"module": "mcp_server_time.server"}, True),
        ({"module": "mcp_server_tim"}, False),
        ({"function": "mcp_server_time:main"}, True),
        ({"function": "nowhere:main"}, False),
    ],
)
def test_a_declared_start_is_checked_against_the_wheels(
    tmp_path: Path, start: dict[str, str], ok: bool, make_wheel: Callable[[str, dict[str, str]], Path]
) -> None:
    wheel = make_wheel("t-1-py3-none-any.whl", {
        "mcp_server_time/__init__.py": "", "mcp_server_time/__main__.py": "", "mcp_server_time/server.py": "",
        "t-1.dist-info/entry_points.txt": "[console_scripts]\nmcp-server-time = mcp_server_time:main\n",
    })  # fmt: skip
    server = load_index_server(tmp_path, "time", {"package": "mcp-server-time", **start})
    if ok:
        check_start(server, server.declaration, runnables([wheel]))
    else:
        with pytest.raises(KitError, match="in the server or its dependencies") as caught:
            check_start(server, server.declaration, runnables([wheel]))
        assert "python -m mcp_server_time" in caught.value.message and "[servers.time]" in (
            caught.value.hint or ""
        )


@pytest.mark.parametrize(
    ("package", "name"),
    [
        ("mcp-server-time", "time"),
        ("mcp-server-sqlite==2025.4.25", "sqlite"),
        ("github-mcp", "github"),
        ("Weather_MCP_Server>=1", "weather"),
        ("mcp", "mcp"),
    ],
)
def test_default_names_drop_the_usual_affixes(package: str, name: str) -> None:
    assert default_name(package) == name
