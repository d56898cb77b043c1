"""What the recording of a start imports: the server's entry as it declares it, and for `python -m` what its main
file imports, read from its source and never run; and the code of each module as its import used it."""

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

from mcpkit_runtime import start_record


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Path]:
    """An installed server folder on sys.path: a package run with -m whose main would start serving."""
    root = tmp_path / "server"
    package = root / "srv_demo"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "server.py").write_text("def main():\n    pass\n")
    (package / "__main__.py").write_text(
        "import json\nfrom .server import main\nfrom os import path as p\n\n"
        "def later():\n    import not_at_start\n\nraise SystemExit('a main file is never run')\n"
    )
    dist = root / "srv_demo-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: srv-demo\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[console_scripts]\nsrv-demo = srv_demo.server:main\n")
    sys.path.insert(0, str(root))
    importlib.invalidate_caches()
    yield root
    sys.path.remove(str(root))
    for name in [n for n in sys.modules if n.startswith("srv_demo")]:
        del sys.modules[name]


def test_a_function_or_a_script_starts_by_importing_its_module(server: Path) -> None:
    assert start_record.entry_modules({"function": "srv_demo.server:main"}, str(server)) == [
        "srv_demo.server"
    ]
    assert start_record.entry_modules({"script": "srv-demo"}, str(server)) == ["srv_demo.server"]


def test_a_module_run_with_dash_m_starts_with_its_package_and_what_its_main_imports(server: Path) -> None:
    found = start_record.entry_modules({"module": "srv_demo"}, str(server))
    assert found == ["srv_demo", "json", "srv_demo.server", "srv_demo.server.main", "os", "os.path"]


def test_an_undeclared_start_takes_whatever_the_installed_code_offers(server: Path) -> None:
    found = start_record.entry_modules({}, str(server))
    assert "srv_demo.server" in found and "json" in found


def test_imports_inside_functions_are_not_the_start_s() -> None:
    tree = ast.parse("import a\nif x:\n    import b\ndef f():\n    import c\nclass K:\n    import d\n")
    assert start_record.imports_in(tree, "") == ["a", "b", "d"]


def test_the_code_is_the_one_the_import_used_even_when_the_cached_file_is_stale(tmp_path: Path) -> None:
    module = tmp_path / "stale_demo.py"
    module.write_text("VALUE = 1\n")
    compileall.compile_file(str(module), quiet=1)
    module.write_text("VALUE = 22\n")
    os.utime(module, (1, 1))  # another time than the cached file's stamp
    sys.path.insert(0, str(tmp_path))
    try:
        imported = importlib.import_module("stale_demo")
        table = start_record.collect({"stale_demo": imported})
    finally:
        sys.path.remove(str(tmp_path))
        del sys.modules["stale_demo"]
    namespace: dict[str, object] = {}
    exec(marshal.loads(table["stale_demo"][2]), namespace)
    assert namespace["VALUE"] == 22 and table["stale_demo"][:2] == (str(module), False)
