"""The compiled code of the modules a server's start imports, read from one file, and the finder that serves it.

On the storage driver of the engine this was measured on (fuse-overlayfs) every file a start opens is a round trip
through a user-space daemon, about 0.19 ms; a server's start imports some 500 modules, each a stat and an open or
more. Served from the bundle, the analyst's start opens 8 of its .py/.pyc files instead of 475, and its first answer
went from 0.92 to 0.76 s (bench/start_bundle_bench.py).

The kit records the bundle when it builds an image (start_record.py), in two files: the modules of a stdio start of
the runtime, with the venv in the image's build stage (cached while the dependencies stay the same), and the rest of
what the server's start imports, in the code step of a folder server. Both are for the image as built: it is
immutable and runs read-only, so what a bundle holds is what the files hold (code mounted over /opt/server hides that
folder's bundle with it). A `.pth` file the kit writes into the image's venv calls `install()` as the image's Python
starts; MCPKIT_START_BUNDLE=0 turns it off (a debugging session, a doubt). Only the code comes from the bundle:
each module's spec is the one a normal import makes (its file, its cached file, a package's folder as `__path__`, a
SourceFileLoader), so `__file__`, `importlib.resources`, `inspect.getsource` and tracebacks read the real files, and
a module the bundle lacks is found as before. A bundle another Python made, or one that does not read, is ignored
with one line on stderr, and one for another optimisation level (`python -O`) silently: the start goes on as without
it.

The bundles are written while the image is built, from its own files, by its own Python importing its dependencies
(and the libraries the server's modules import); they are read only by that image's processes, which run that code
anyway: a bundle gives the server no more than it has.

Imported at every start of the image's Python, so it imports only what the interpreter has already loaded.
"""

# The import system's own module, loaded with the interpreter: importlib.util and importlib.machinery would import
# the importlib package and a dozen modules from the image's files before the bundle could serve them.
import _frozen_importlib_external as _external
import marshal
import os
import sys

TYPE_CHECKING = False  # nor typing, for the same reason
if TYPE_CHECKING:
    from types import CodeType
    from typing import Any

# The dependencies' bundle, recorded with the venv in the image's build stage (so a code change keeps it), and the
# server's own modules' (what the former lacks), recorded by the code step.
DEPENDENCIES_PATH = "/opt/venv/.mcpkit-start-bundle"
SERVER_PATH = "/opt/server/.mcpkit-start-bundle"
PATHS = (DEPENDENCIES_PATH, SERVER_PATH)
SWITCH = "MCPKIT_START_BUNDLE"  # "0" (or off, false, no) turns the bundle off
_PREFIX = b"mcpkit-start-bundle 1\n"
Table = dict[str, tuple[str, bool, bytes]]  # module name -> (its .py file, is a package, marshalled code)


def header() -> bytes:
    """What a bundle begins with: the format, and the Python (bytecode magic, optimisation level) it is for."""
    return _PREFIX + _external.MAGIC_NUMBER + bytes([sys.flags.optimize])


def install(paths: tuple[str, ...] = PATHS) -> bool:
    """Serves the bundles' modules from here on, if there is a bundle for this Python and they are not turned off.
    Never raises: a start must not fail for want of a faster start."""
    if os.environ.get(SWITCH, "").strip().lower() in ("0", "off", "false", "no"):
        return False
    table: Table = {}
    for path in paths:
        try:
            with open(path, "rb") as bundle:
                data = bundle.read()
        except OSError:
            continue
        expected = header()
        if data[: len(expected)] != expected and data[: len(expected) - 1] == expected[:-1]:
            continue  # a start with -O: its optimised code is in the files; nothing is wrong with the bundle
        try:
            table.update(read(data))
        except Exception as exc:  # whatever is wrong with a bundle, the start goes on without it
            _note(path, exc)
    if table:
        sys.meta_path.insert(0, StartBundleFinder(table))
    return bool(table)


def read(data: bytes) -> Table:
    """The bundle's table; ValueError when it is not a bundle for this Python."""
    expected = header()
    if data[: len(expected)] != expected:
        raise ValueError("made for another Python or format")
    table = marshal.loads(memoryview(data)[len(expected) :])  # not a slice: that copies megabytes
    if not isinstance(table, dict):
        raise ValueError("not a table of modules")
    return table


def write(path: str, table: Table) -> None:
    """The bundle written whole or not at all, readable by the server's user."""
    partial = f"{path}.partial"
    try:
        with open(partial, "wb") as out:
            out.write(header() + marshal.dumps(table))
        os.chmod(partial, 0o644)
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)


class StartBundleFinder:
    """A meta-path finder for the bundle's modules; any other name goes on to the finders after it."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def find_spec(self, name: str, path: "Any" = None, target: "Any" = None) -> "Any":
        entry = self.table.get(name)
        if entry is None:
            return None
        origin, package = entry[0], entry[1]
        return _external.spec_from_file_location(
            name,
            origin,
            loader=BundledLoader(name, origin, self.table),
            submodule_search_locations=[os.path.dirname(origin)] if package else None,
        )

    def invalidate_caches(self) -> None:
        pass


class BundledLoader(_external.SourceFileLoader):
    """A source file's loader whose code comes from the bundle (once: a reload reads the files)."""

    def __init__(self, fullname: str, path: str, table: Table) -> None:
        super().__init__(fullname, path)
        self.table = table

    def get_code(self, fullname: str) -> "CodeType":  # type: ignore[override]  # the base's stub says Optional
        entry = self.table.pop(fullname, None)
        if entry is not None:
            code = marshal.loads(entry[2])
            if isinstance(code, type(_note.__code__)):
                return code
        return super().get_code(fullname)  # type: ignore[return-value]


def _note(path: str, exc: Exception) -> None:
    """One line on stderr (stdout carries the protocol), in the shape of the runtime's logs."""
    import contextlib  # here, not at start: only a broken bundle gets this far
    import json

    note = {
        "level": "warning",
        "logger": "mcpkit.start_bundle",
        "message": f"start bundle {path} ignored: {exc}",
    }
    with contextlib.suppress(Exception):  # no stderr (closed): nothing to say it on
        print(json.dumps(note), file=sys.stderr)
