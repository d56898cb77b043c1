"""A start's modules served from one file: recorded from what an import loaded, then found as a normal import finds
them (their files, resources, sources and tracebacks the real ones), or not at all when the bundle is off, made for
another Python, or broken. Each start is a fresh interpreter, as a container's is."""

from __future__ import annotations

import compileall
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mcpkit_runtime import start_bundle

RUNTIME = str(Path(start_bundle.__file__).parents[1])


def _package(root: Path) -> Path:
    """A package with a submodule, a data file, and a module the start does not import; byte-compiled."""
    package = root / "demo"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("from demo import answer\n")
    (package / "answer.py").write_text(
        "VALUE = 'recorded'\n\n\ndef fail():\n    raise RuntimeError('from answer')\n"
    )
    (package / "later.py").write_text("LATER = True\n")
    (package / "data.txt").write_text("data beside the code\n")
    compileall.compile_dir(root, quiet=1)
    return root


def _python(code: str, root: Path, bundle: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter that installs the bundle first, as the image's `.pth` does, then runs `code`."""
    script = (
        f"from mcpkit_runtime import start_bundle\nstart_bundle.install(({str(bundle)!r},))\n"
        + textwrap.dedent(code)
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True, text=True, timeout=60, check=False, cwd=root,
        env={"PYTHONPATH": f"{root}:{RUNTIME}", "PYTHONDONTWRITEBYTECODE": "1", **env},
    )  # fmt: skip


def _recorded(root: Path, modules: list[str]) -> Path:
    bundle = root / "bundle"
    record = (
        f"from mcpkit_runtime import start_record; print(start_record.record({str(bundle)!r}, {modules!r}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", record], capture_output=True, text=True, timeout=60, check=True, cwd=root,
        env={"PYTHONPATH": f"{root}:{RUNTIME}", "MCPKIT_START_BUNDLE": "0"},
    )  # fmt: skip
    assert int(done.stdout) > 2
    return bundle


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return _package(tmp_path / "site")


def _source_changed(root: Path) -> None:
    """The files now say something else: a module that still says 'recorded' came from the bundle."""
    (root / "demo" / "answer.py").write_text("VALUE = 'from the files'\n")
    for cached in (root / "demo" / "__pycache__").glob("answer.*.pyc"):
        cached.unlink()


def test_recorded_modules_come_from_the_bundle_with_their_real_files_and_resources(root: Path) -> None:
    bundle = _recorded(root, ["demo", "not.a.module"])
    _source_changed(root)
    done = _python(
        """
        import importlib.resources, inspect, json, sys
        import demo, demo.answer, demo.later
        print(json.dumps({
            "value": demo.answer.VALUE,
            "loader": type(demo.answer.__spec__.loader).__name__,
            "file": demo.answer.__file__,
            "cached": demo.__cached__,
            "path": demo.__path__,
            "data": importlib.resources.files("demo").joinpath("data.txt").read_text(),
            "source": inspect.getsource(demo.later),
            "later": type(demo.later.__spec__.loader).__name__,
        }))
        """,
        root,
        bundle,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["value"] == "recorded" and seen["loader"] == "BundledLoader"
    assert seen["file"] == str(root / "demo" / "answer.py")
    assert seen["cached"] == str(
        root / "demo" / "__pycache__" / f"__init__.{sys.implementation.cache_tag}.pyc"
    )
    assert seen["path"] == [str(root / "demo")]
    assert seen["data"] == "data beside the code\n"
    assert seen["source"] == "LATER = True\n" and seen["later"] == "SourceFileLoader", (
        "not recorded: as before"
    )
    assert done.stderr == ""


def test_a_traceback_through_bundled_code_names_its_file_and_line(root: Path) -> None:
    bundle = _recorded(root, ["demo"])
    done = _python("import demo.answer\ndemo.answer.fail()\n", root, bundle)
    assert f'File "{root / "demo" / "answer.py"}", line 5, in fail' in done.stderr
    assert "RuntimeError: from answer" in done.stderr


def test_the_switch_turns_the_bundle_off(root: Path) -> None:
    bundle = _recorded(root, ["demo"])
    _source_changed(root)
    for off in ("0", "off"):
        done = _python("import demo.answer; print(demo.answer.VALUE)", root, bundle, MCPKIT_START_BUNDLE=off)
        assert done.stdout.strip() == "from the files"


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # truncated
        lambda data: data[:-200] + b"\x00" * 200,  # corrupt
        lambda data: data.replace(
            start_bundle.header(), b"mcpkit-start-bundle 1\n\x00\x00\r\n\x00", 1
        ),  # another Python
        lambda data: start_bundle.header() + b"\xff" * 32,  # not marshal at all
    ],
)
def test_a_broken_or_foreign_bundle_is_ignored_with_one_line_on_stderr(root: Path, damage: object) -> None:
    bundle = _recorded(root, ["demo"])
    bundle.write_bytes(damage(bundle.read_bytes()))  # type: ignore[operator]
    _source_changed(root)
    done = _python("import demo.answer; print(demo.answer.VALUE)", root, bundle)
    assert done.returncode == 0 and done.stdout.strip() == "from the files"
    (line,) = done.stderr.splitlines()
    assert json.loads(line)["message"].startswith(f"start bundle {bundle} ignored")


def test_a_start_with_optimisation_reads_the_files_and_says_nothing(root: Path) -> None:
    bundle = _recorded(root, ["demo"])
    _source_changed(root)
    done = _python("import demo.answer; print(demo.answer.VALUE)", root, bundle, PYTHONOPTIMIZE="1")
    assert done.returncode == 0 and done.stdout.strip() == "from the files" and done.stderr == ""


def test_no_bundle_costs_nothing_and_says_nothing(root: Path) -> None:
    done = _python("import demo.answer; print(demo.answer.VALUE)", root, root / "absent")
    assert done.returncode == 0 and done.stdout.strip() == "recorded" and done.stderr == ""


def test_installing_reads_no_module_from_the_files_but_its_own(root: Path) -> None:
    """What it imported from files would be read before the bundle could serve it."""
    code = (
        "import sys; before = set(sys.modules); from mcpkit_runtime import start_bundle; "
        "print(sorted(name for name in set(sys.modules) - before "
        "if (getattr(sys.modules[name].__spec__, 'origin', None) or '').endswith('.py')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True,
        env={"PYTHONPATH": RUNTIME},
    )  # fmt: skip
    assert done.stdout.strip() == "['mcpkit_runtime', 'mcpkit_runtime.start_bundle']"


def test_the_server_s_recording_leaves_out_what_the_dependencies_bundle_serves_and_both_serve_the_start(
    root: Path,
) -> None:
    dependencies = _recorded(root, ["demo.answer"])
    (root / "deps").mkdir()
    dependencies = dependencies.rename(root / "deps" / "bundle")
    server = root / "server-bundle"
    record = (
        f"from mcpkit_runtime import start_bundle, start_record; start_bundle.install(({str(dependencies)!r},)); "
        f"start_record.record({str(server)!r}, ['demo.later']); "
        f"print(sorted(start_bundle.read(open({str(server)!r}, 'rb').read())))"
    )
    done = subprocess.run(
        [sys.executable, "-c", record], capture_output=True, text=True, timeout=60, check=True, cwd=root,
        env={"PYTHONPATH": f"{root}:{RUNTIME}"},
    )  # fmt: skip
    assert (
        "'demo.later'" in done.stdout and "'demo.answer'" not in done.stdout and "'demo'" not in done.stdout
    )
    _source_changed(root)
    both = f"({str(dependencies)!r}, {str(server)!r})"
    check = (
        f"from mcpkit_runtime import start_bundle; start_bundle.install({both}); import demo.answer, demo.later; "
        "print(demo.answer.VALUE, type(demo.later.__spec__.loader).__name__)"
    )
    done = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, timeout=60, check=True, cwd=root,
        env={"PYTHONPATH": f"{root}:{RUNTIME}"},
    )  # fmt: skip
    assert done.stdout.split() == ["recorded", "BundledLoader"]
