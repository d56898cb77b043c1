"""Records a server image's start bundles (start_bundle.py), each the compiled code of modules its start imports.

The dependencies' bundle, in the image's build stage with the venv (`python -m mcpkit_runtime.start_record
dependencies`), so a code change keeps it: what a stdio start of the runtime imports, found by importing it.

The server's bundle, in the kit's code step once the build commands ran (`... server`, kit/image/code_install.py):
every module of the server's own folder, read as files (nothing of the server's runs), and the modules of other
packages its modules import at their top level that the dependencies' bundle does not hold (a SQL parser, say),
found by importing them. The mcp SDK, whose import is most of a start's, is in the dependencies' bundle and is not
imported again: the step costs a fraction of a second.

A module that does not import here (it wants a setting, say) is left out, and found in the files at start.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import marshal
import os
import sys
from collections.abc import Iterable, Mapping
from importlib.machinery import SourceFileLoader
from types import ModuleType

from mcpkit_runtime import start_bundle

SERVER_DIR = "/opt/server"
# What a stdio start of the runtime imports on its way to the first answer, besides the server's own modules.
START_MODULES = (
    "mcpkit_runtime.sdk",
    "mcpkit_runtime.server",
    "mcpkit_runtime.job_tools",
    "mcpkit_runtime.transport",
    "mcpkit_runtime.stdio",
    "mcp.server.mcpserver",
    "mcp.server.stdio",
    "mcp.types",
    "anyio._backends._asyncio",
)


def record(path: str, modules: Iterable[str]) -> int:
    """`modules` imported (those that fail to are left out), then every module a source file loader loaded written
    into the bundle at `path`: how many."""
    imported(modules)
    table = collect(sys.modules)
    start_bundle.write(path, table)
    return len(table)


def record_server(path: str, folder: str, served: Iterable[str]) -> int:
    """The server's bundle at `path`: every module in `folder`, and those of other packages they import that are
    neither `served` (by the dependencies' bundle) nor already loaded: how many."""
    table = _found_there(folder_table(folder), folder)
    served = set(served)
    wanted = []
    for origin, _, _ in table.values():
        with open(origin, "rb") as source:
            try:
                tree = ast.parse(source.read(), origin)
            except (SyntaxError, ValueError):
                continue
        wanted += imports_in(tree, _package_of(origin, folder))
    mine = {name.split(".")[0] for name in table}
    imported(name for name in dict.fromkeys(wanted) if name.split(".")[0] not in served | mine)
    table = {**collect(sys.modules), **table}
    start_bundle.write(path, table)
    return len(table)


def _found_there(table: start_bundle.Table, folder: str) -> start_bundle.Table:
    """The modules whose top-level name an import finds in `folder`: the venv and the standard library come first
    on the path, and what they hold under the same name is what a start imports."""
    found_there = set()
    for top in {name.split(".")[0] for name in table}:
        try:
            spec = importlib.util.find_spec(top)
        except (Exception, SystemExit):  # not found as a normal start would find it: left to the files
            continue
        if spec is not None and (spec.origin or "").startswith(os.path.join(folder, "")):
            found_there.add(top)
    return {name: entry for name, entry in table.items() if name.split(".")[0] in found_there}


def imported(modules: Iterable[str]) -> None:
    for name in modules:
        try:
            importlib.import_module(name)
        except (Exception, SystemExit):  # it is found in the files at start, as before
            continue


def collect(modules: Mapping[str, ModuleType]) -> start_bundle.Table:
    """The code of each module a source file loader loaded (not a bundle's), as the import used it: its cached
    file's code when that is current, otherwise compiled again."""
    table: start_bundle.Table = {}
    for name, module in list(modules.items()):
        spec = getattr(module, "__spec__", None)
        loader = getattr(spec, "loader", None)
        origin = getattr(spec, "origin", None) or ""
        # Under its own name only: `__main__`, or a module a package put in sys.modules under another name, would
        # be found as a second copy.
        if (
            spec is None
            or spec.name != name
            or type(loader) is not SourceFileLoader
            or not origin.endswith(".py")
        ):
            continue
        try:
            code = _cached_code(origin, spec.cached) or marshal.dumps(loader.get_code(name))
        except (OSError, SyntaxError, ImportError):
            continue
        table[name] = (origin, spec.submodule_search_locations is not None, code)
    return table


def folder_table(folder: str) -> start_bundle.Table:
    """Every module of the packages (and top-level modules) in `folder` whose cached file is current, read as
    files: what importing them would run is not run."""
    table: start_bundle.Table = {}
    for root, folders, files in os.walk(folder):
        relative = os.path.relpath(root, folder)
        parts = [] if relative == "." else relative.split(os.sep)
        if parts and not (all(part.isidentifier() for part in parts) and "__init__.py" in files):
            folders.clear()  # not a package: a data folder, a dist-info, __pycache__
            continue
        for file in files:
            stem = file[:-3]
            if not file.endswith(".py") or not stem.isidentifier():
                continue
            origin = os.path.join(root, file)
            code = _cached_code(origin, importlib.util.cache_from_source(origin))
            if code is not None:
                name = ".".join(parts if stem == "__init__" else [*parts, stem])
                table[name] = (origin, stem == "__init__", code)
    return table


def _package_of(origin: str, folder: str) -> str:
    parts = os.path.relpath(os.path.dirname(origin), folder).split(os.sep)
    return "" if parts == ["."] else ".".join(parts)


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


def _served() -> set[str]:
    """What the bundles this process installed at start serve: the modules it loaded from them, and the rest."""
    loaded = {
        name
        for name, module in list(sys.modules.items())
        if isinstance(getattr(getattr(module, "__spec__", None), "loader", None), start_bundle.BundledLoader)
    }
    finders = [finder for finder in sys.meta_path if isinstance(finder, start_bundle.StartBundleFinder)]
    return loaded.union(*(finder.table for finder in finders))


def main(argv: list[str] | None = None) -> None:
    (what,) = argv or sys.argv[1:]
    if what == "dependencies":
        path, count = start_bundle.DEPENDENCIES_PATH, record(start_bundle.DEPENDENCIES_PATH, START_MODULES)
    elif what == "server":
        path, count = start_bundle.SERVER_PATH, record_server(start_bundle.SERVER_PATH, SERVER_DIR, _served())
    else:
        sys.exit(f"usage: python -m mcpkit_runtime.start_record dependencies|server, not {what}")
    print(f"start bundle: {count} modules in {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
