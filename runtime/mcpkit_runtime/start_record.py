"""Records a server image's start bundle (start_bundle.py): imports what the server's start imports, then writes the
compiled code of every module that came from a .py file into one file.

Run by the kit's code step (kit/image/code_install.py) with the image's Python and its site as at start, in two
halves so it overlaps the step's other work: first the modules a stdio start of the runtime imports (while the
server's wheel is built), then, once a line arrives on stdin (the server's code is installed and byte-compiled), the
server's entry and what its main file imports. Nothing of the server's runs beyond its imports: a main file is read,
never run. A module that does not import here (it wants a setting, say) is left out, and found in the files at start.

Usage: python -c "from mcpkit_runtime.start_record import main; main()" BUNDLE START
START is JSON: {"module": M}, {"function": "M:F"}, {"script": S}, or {} when the server does not say (then
whatever its installed code offers: its console scripts, its packages with a __main__).
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import importlib.util
import json
import marshal
import os
import sys
from collections.abc import Iterable, Mapping
from importlib.machinery import SourceFileLoader
from types import ModuleType

from mcpkit_runtime import start_bundle

SERVER_DIR = "/opt/server"
# What a stdio start imports after the server's own modules, on its way to the first answer.
START_MODULES = (
    "mcpkit_runtime.sdk",
    "mcpkit_runtime.transport",
    "mcpkit_runtime.stdio",
    "mcp.server.mcpserver",
    "mcp.server.stdio",
    "anyio._backends._asyncio",
)


def record(path: str, modules: Iterable[str]) -> int:
    """`modules` imported (those that fail to are left out), then every module loaded from a .py file written into
    the bundle at `path`: how many."""
    imported(modules)
    table = collect(sys.modules)
    start_bundle.write(path, table)
    return len(table)


def imported(modules: Iterable[str]) -> None:
    for name in modules:
        try:
            importlib.import_module(name)
        except (Exception, SystemExit):  # it is found in the files at start, as before
            continue


def collect(modules: Mapping[str, ModuleType]) -> start_bundle.Table:
    """The code of each module a source file loader loaded, as the import used it: its cached file's code when
    that is current, otherwise compiled again."""
    table: start_bundle.Table = {}
    for name, module in list(modules.items()):
        spec = getattr(module, "__spec__", None)
        loader = getattr(spec, "loader", None)
        origin = getattr(spec, "origin", None) or ""
        if spec is None or type(loader) is not SourceFileLoader or not origin.endswith(".py"):
            continue
        try:
            code = _cached_code(origin, spec.cached) or marshal.dumps(loader.get_code(name))
        except (OSError, SyntaxError, ImportError):
            continue
        table[name] = (origin, spec.submodule_search_locations is not None, code)
    return table


def _cached_code(origin: str, cached: str | None) -> bytes | None:
    """The marshalled code in the cached file, when the import would have used it: this Python's, and either not
    checked against its source (the kit compiles so) or stamped with the source's time and size."""
    if not cached:
        return None
    try:
        with open(cached, "rb") as pyc:
            data = pyc.read()
    except OSError:
        return None
    if len(data) < 16 or data[:4] != importlib.util.MAGIC_NUMBER:
        return None
    flags = int.from_bytes(data[4:8], "little")
    if flags == 0b01:  # hash-based, unchecked
        return data[16:]
    if flags == 0:
        source = os.stat(origin)
        stamp = (int(source.st_mtime) & 0xFFFFFFFF, source.st_size & 0xFFFFFFFF)
        if stamp == (int.from_bytes(data[8:12], "little"), int.from_bytes(data[12:16], "little")):
            return data[16:]
    return None


def entry_modules(start: Mapping[str, str], server_dir: str = SERVER_DIR) -> list[str]:
    """The modules the server's start imports first: its entry's module, and for `python -m`, what its main file
    imports."""
    if start.get("function"):
        return [start["function"].split(":")[0]]
    if start.get("script"):
        return _script_modules([start["script"]])
    if start.get("module"):
        return _main_imports(start["module"])
    found = []
    for entry in sorted(os.listdir(server_dir)) if os.path.isdir(server_dir) else []:
        if entry.endswith(".dist-info"):
            found += _script_modules(_scripts_of(os.path.join(server_dir, entry)))
        elif os.path.isfile(os.path.join(server_dir, entry, "__main__.py")):
            found += _main_imports(entry)
    return found


def _script_modules(scripts: list[str]) -> list[str]:
    entries = importlib.metadata.entry_points(group="console_scripts")
    return [entry.module for script in scripts for entry in entries.select(name=script)]


def _scripts_of(dist_info: str) -> list[str]:
    distribution = importlib.metadata.PathDistribution.at(dist_info)
    return [entry.name for entry in distribution.entry_points if entry.group == "console_scripts"]


def _main_imports(name: str) -> list[str]:
    """`python -m name` runs a package's __main__, or the module itself: its package imported, and what it
    imports, read from its source."""
    try:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations is not None:
            package, spec = name, importlib.util.find_spec(f"{name}.__main__")
        else:
            package = name.rpartition(".")[0]
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            return [package] if package else []
        with open(spec.origin, "rb") as source:
            tree = ast.parse(source.read(), spec.origin)
    except (Exception, SystemExit):  # then only what the runtime's start imports is recorded
        return []
    return ([package] if package else []) + imports_in(tree, package)


def imports_in(tree: ast.Module, package: str) -> list[str]:
    """The modules a file imports as it runs (not inside its functions), with `from X import Y` also as `X.Y`,
    since Y may be a submodule."""
    found: list[str] = []
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop(0)
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            try:
                base = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
            except (ImportError, ValueError):
                continue
            found += [base, *(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")]
        elif not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            pending += ast.iter_child_nodes(node)
    return list(dict.fromkeys(found))


def main(argv: list[str] | None = None) -> None:
    path, start = argv or sys.argv[1:]
    imported(START_MODULES)
    if not sys.stdin.readline():  # the step ended without installing the code: nothing to record
        return
    importlib.invalidate_caches()  # the server's folder was filled since it was first listed
    count = record(path, entry_modules(json.loads(start)))
    print(f"start bundle: {count} modules in {path}", file=sys.stderr)
