"""A server written for an older major version of a dependency: the failure names the pin to try."""

from collections.abc import Callable
from pathlib import Path

from kit.image.diagnosis import imported_names, suggest_pins
from kit.image.wheelhouse import WheelInfo
from kit.project.locks import Lock, LockedPackage

# What mcp-server-sqlite 2025.4.25 prints when it starts on the 2.x SDK (taken from a real run).
SQLITE_ON_MCP_2 = """\
Traceback (most recent call last):
  File "/opt/venv/bin/mcp-server-sqlite", line 8, in <module>
    sys.exit(main())
  File "/opt/venv/lib/python3.11/site-packages/mcp_server_sqlite/__init__.py", line 9, in main
    asyncio.run(server.main(args.db_path))
  File "/opt/venv/lib/python3.11/site-packages/mcp_server_sqlite/server.py", line 173, in main
    @server.list_resources()
     ^^^^^^^^^^^^^^^^^^^^^
AttributeError: 'Server' object has no attribute 'list_resources'
"""
SERVER = WheelInfo(
    "mcp-server-sqlite",
    "2025.4.25",
    ["mcp[cli]>=1.6.0", "rich; extra == 'pretty'"],
    frozenset({"mcp_server_sqlite"}),
)
WHEELS = [
    SERVER,
    WheelInfo("mcp", "2.3.0", ["pydantic>=2"], frozenset({"mcp"})),
    WheelInfo("pydantic", "2.12.0", [], frozenset({"pydantic"})),
    WheelInfo("rich", "15.0.0", [], frozenset({"rich"})),
]


def _lock(**versions: str) -> Lock:
    return Lock(
        "s",
        "t",
        "f",
        [LockedPackage(n, v, "0" * 64, f"{n}-{v}-py3-none-any.whl") for n, v in versions.items()],
    )


def test_a_dependency_locked_past_the_major_the_server_asked_for_is_the_pin_to_try() -> None:
    assert suggest_pins(SQLITE_ON_MCP_2, SERVER, WHEELS, _lock(mcp="2.3.0", pydantic="2.12.0")) == ["mcp<2"]


def test_a_dependency_the_error_names_comes_first_even_without_a_lower_bound() -> None:
    server = WheelInfo("srv", "1", ["pydantic", "mcp>=1.2"], frozenset({"srv"}))
    stderr = "  File \"/opt/venv/lib/python3.11/site-packages/pydantic/main.py\", line 3\nImportError: cannot import name 'validator' from 'pydantic'"
    assert suggest_pins(stderr, server, WHEELS, _lock(mcp="2.3.0", pydantic="2.12.0")) == [
        "pydantic<2",
        "mcp<2",
    ]


def test_nothing_is_suggested_when_every_dependency_is_on_the_major_it_asked_for() -> None:
    server = WheelInfo("srv", "1", ["mcp>=2.3,<3", "pydantic>=2"], frozenset({"srv"}))
    assert suggest_pins(SQLITE_ON_MCP_2, server, WHEELS, _lock(mcp="2.3.0", pydantic="2.12.0")) == []


def test_the_import_that_failed_names_the_pin_before_a_frame_further_up() -> None:
    server = WheelInfo("srv", "1", ["mcp>=1.2", "pydantic>=2"], frozenset({"srv"}))
    stderr = (
        '  File "/opt/venv/lib/python3.11/site-packages/pydantic/main.py", line 3, in validate\n'
        '  File "/opt/venv/lib/python3.11/site-packages/srv/server.py", line 2, in <module>\n'
        "ImportError: cannot import name 'FastMCP' from 'mcp.server.fastmcp'"
    )
    pins = suggest_pins(stderr, server, WHEELS, _lock(mcp="2.3.0", pydantic="2.12.0"))
    assert pins[0] == "mcp<2", pins


def test_an_api_removed_in_a_minor_release_of_a_dependencys_dependency_gets_a_minor_pin() -> None:
    # The server does not ask for pydantic itself; mcp does (>=2.7), so pydantic<2 would not install: the pin
    # below the locked minor is the one that fits.
    server = WheelInfo("srv", "1", ["mcp>=2.3"], frozenset({"srv"}))
    wheels = [server, WheelInfo("mcp", "2.3.0", ["pydantic>=2.7"], frozenset({"mcp"})), WHEELS[2]]
    stderr = (
        '  File "/opt/venv/lib/python3.11/site-packages/srv/server.py", line 9, in <module>\n'
        '  File "/opt/venv/lib/python3.11/site-packages/pydantic/_internal/_model_construction.py", line 4\n'
        "AttributeError: module 'pydantic.fields' has no attribute 'ModelPrivateAttr'"
    )
    assert suggest_pins(stderr, server, wheels, _lock(mcp="2.3.0", pydantic="2.12.0")) == ["pydantic<2.12"]


def test_a_server_that_stops_at_its_command_line_is_told_from_a_dependency_failure() -> None:
    from kit.image.diagnosis import wanted_arguments

    # excel-mcp-server 2.2.2 started with no arguments (a real run)
    argparse = (
        "usage: excel-mcp-server [-h] [--version] {stdio,streamable-http} ...\n"
        "excel-mcp-server: error: the following arguments are required: transport"
    )
    assert wanted_arguments(argparse) == "stdio"
    click = "Usage: srv [OPTIONS] COMMAND [ARGS]...\nTry 'srv --help' for help.\n\nError: Missing command."
    assert wanted_arguments(click) == ""
    assert wanted_arguments(SQLITE_ON_MCP_2) is None


def test_the_arguments_a_server_requires_are_named() -> None:
    from kit.image.diagnosis import wanted_arguments

    # mcp-server-duckdb 1.1.0 started with no arguments (a real run)
    stderr = (
        "usage: -c [-h] --db-path DB_PATH [--readonly] [--keep-connection]\n"
        "-c: error: the following arguments are required: --db-path"
    )
    assert wanted_arguments(stderr) == "--db-path DB_PATH"


def test_the_object_that_failed_names_the_distribution_it_was_imported_from(
    make_wheel: Callable[[str, dict[str, str]], Path],
) -> None:
    # mcp-server-duckdb 1.1.0 on the 2.x SDK (a real run): both of its dependencies are locked a major past what it
    # asks for; the 'Server' object that failed is mcp's, so mcp<2 comes first.
    wheel = make_wheel(
        "mcp_server_duckdb-1.1.0-py3-none-any.whl",
        {
            "mcp_server_duckdb/server.py": "import duckdb\nfrom mcp.server import NotificationOptions, Server\n"
        },
    )
    server = WheelInfo(
        "mcp-server-duckdb", "1.1.0", ["duckdb>=1.1.3", "mcp>=1.0.0"], frozenset({"mcp_server_duckdb"})
    )
    wheels = [server, WHEELS[1], WheelInfo("duckdb", "2.0.1", [], frozenset({"duckdb"}))]
    stderr = SQLITE_ON_MCP_2.replace("mcp_server_sqlite", "mcp_server_duckdb")
    lock = _lock(mcp="2.3.0", duckdb="2.0.1")
    assert suggest_pins(stderr, server, wheels, lock) == ["duckdb<2", "mcp<2"], (
        "in requirement order, unaided"
    )
    assert suggest_pins(stderr, server, wheels, lock, imported_names(wheel)) == ["mcp<2", "duckdb<2"]


def test_what_the_server_logged_before_its_traceback_does_not_name_the_pin() -> None:
    # mcp-server-duckdb 1.1.0 on the 2.x SDK (a real run); the log line before it names its database library.
    server = WheelInfo(
        "mcp-server-duckdb", "1.1.0", ["duckdb", "mcp>=1.0.0"], frozenset({"mcp_server_duckdb"})
    )
    wheels = [server, WHEELS[1], WheelInfo("duckdb", "2.0.0", [], frozenset({"duckdb"}))]
    stderr = "INFO connecting with module 'duckdb' has no attribute 'x' fallback\n" + SQLITE_ON_MCP_2.replace(
        "mcp_server_sqlite", "mcp_server_duckdb"
    )
    assert suggest_pins(stderr, server, wheels, _lock(mcp="2.3.0", duckdb="2.0.0"))[0] == "mcp<2"
