"""What the recording of a server's start bundle takes: every module of its folder, read as files and never run,
and the modules of other packages they import that the dependencies' bundle does not serve; and the code of each
module as its import used it."""

from __future__ import annotations

import ast
import compileall
import importlib
import marshal
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mcpkit_runtime import start_bundle, start_record


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Path]:
    """An installed server folder (a package, a data folder, a dist-info) beside a library it imports."""
    root = tmp_path / "server"
    package = root / "srv_demo"
    (package / "data").mkdir(parents=True)
    (package / "__init__.py").write_text("raise SystemExit('the server is never run')\n")
    (package / "server.py").write_text(
        "import json\nimport lib_demo.parse\nfrom . import tools\n\ndef f():\n    import lib_lazy\n"
    )
    (package / "tools.py").write_text("from os import path\n")
    (package / "data" / "schema.py").write_text("DATA = 1\n")  # a data folder: not a package
    (package / "not-a-module.py").write_text("X = 1\n")
    (root / "srv_demo-1.0.dist-info").mkdir()
    (root / "srv_demo-1.0.dist-info" / "record.py").write_text("X = 1\n")
    library = tmp_path / "site" / "lib_demo"
    library.mkdir(parents=True)
    (library / "__init__.py").write_text("")
    (library / "parse.py").write_text("PARSED = True\n")
    (tmp_path / "site" / "lib_lazy.py").write_text("raise SystemExit('imported in a function only')\n")
    compileall.compile_dir(tmp_path, quiet=1)
    sys.path[:0] = [str(root), str(tmp_path / "site")]
    importlib.invalidate_caches()
    yield root
    del sys.path[:2]
    for name in [n for n in sys.modules if n.startswith(("srv_demo", "lib_demo"))]:
        del sys.modules[name]


def test_the_folder_s_modules_are_taken_as_files_and_only_its_packages(server: Path) -> None:
    table = start_record.folder_table(str(server))
    assert sorted(table) == ["srv_demo", "srv_demo.server", "srv_demo.tools"]
    assert table["srv_demo"][:2] == (str(server / "srv_demo" / "__init__.py"), True)
    assert table["srv_demo.tools"][:2] == (str(server / "srv_demo" / "tools.py"), False)
    assert "srv_demo" not in sys.modules, "read, not run"


def test_the_server_s_bundle_adds_the_libraries_it_imports_that_the_dependencies_bundle_does_not_serve(
    server: Path, tmp_path: Path
) -> None:
    bundle = tmp_path / "bundle"
    start_record.record_server(str(bundle), str(server), served=["json"])
    table = start_bundle.read(bundle.read_bytes())
    assert {"srv_demo", "srv_demo.server", "srv_demo.tools", "lib_demo", "lib_demo.parse"} <= set(table)
    assert "lib_lazy" not in table and "srv_demo" not in sys.modules


def test_a_module_of_the_folder_that_an_earlier_path_entry_shadows_is_left_out(
    server: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As in the image, the folder comes after the standard library on the path (a .pth adds it), and the shadowed
    module is one nothing has imported yet, so only the path's order can say which one a start gets."""
    (server / "colorsys.py").write_text("SHADOWED = True\n")
    compileall.compile_file(str(server / "colorsys.py"), quiet=1)
    monkeypatch.setattr(sys, "path", [entry for entry in sys.path if entry != str(server)] + [str(server)])
    monkeypatch.delitem(sys.modules, "colorsys", raising=False)
    importlib.invalidate_caches()
    bundle = tmp_path / "bundle"
    start_record.record_server(str(bundle), str(server), served=[])
    table = start_bundle.read(bundle.read_bytes())
    assert table["srv_demo.server"][0] == str(server / "srv_demo" / "server.py")
    assert table.get("colorsys", ("not in the bundle",))[0] != str(server / "colorsys.py")


def test_imports_inside_functions_are_not_the_start_s() -> None:
    tree = ast.parse(
        "import a\nif x:\n    import b\ndef f():\n    import c\nclass K:\n    from .d import e\n"
    )
    assert start_record.imports_in(tree, "pkg") == ["a", "b", "pkg.d", "pkg.d.e"]


def test_the_code_is_the_one_the_import_used_even_when_the_cached_file_is_stale(tmp_path: Path) -> None:
    module = tmp_path / "stale_demo.py"
    module.write_text("VALUE = 1\n")
    compileall.compile_file(str(module), quiet=1)
    module.write_text("VALUE = 22\n")
    os.utime(module, (1, 1))  # another time than the cached file's stamp
    sys.path.insert(0, str(tmp_path))
    try:
        imported = importlib.import_module("stale_demo")
        table = start_record.collect({"stale_demo": imported, "an_alias": imported})
    finally:
        sys.path.remove(str(tmp_path))
        del sys.modules["stale_demo"]
    namespace: dict[str, object] = {}
    exec(marshal.loads(table["stale_demo"][2]), namespace)
    assert namespace["VALUE"] == 22 and table["stale_demo"][:2] == (str(module), False)
    assert "an_alias" not in table, "a module under another name would be found as a second copy"
    assert start_record.folder_table(str(tmp_path)) == {}, "a stale cached file is not taken as it is"
