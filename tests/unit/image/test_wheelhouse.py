import itertools
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from kit.errors import KitError
from kit.image import wheelhouse
from kit.image.wheelhouse import PythonTarget, runnables, runtime_wheel_dir
from kit.reporting import SilentReporter

TARGET = PythonTarget("3.11.2", "x86_64", "2.36")


def test_glibc_target_accepts_every_manylinux_tag_down_to_2014() -> None:
    target = PythonTarget("3.11.2", "x86_64", "2.36")
    assert target.short_version == "3.11"
    assert target.platforms[0] == "manylinux_2_36_x86_64"
    assert "manylinux_2_17_x86_64" in target.platforms and "manylinux2014_x86_64" in target.platforms
    assert "manylinux_2_16_x86_64" not in target.platforms


def test_pip_arguments_pin_interpreter_abi_and_binary_only() -> None:
    args = PythonTarget("3.12.7", "aarch64", "2.36").pip_target_args()
    assert "--only-binary=:all:" in args
    assert args[args.index("--python-version") + 1] == "3.12"
    assert ("--abi", "cp312") in itertools.pairwise(args)
    assert all(p.endswith("aarch64") for p in args[args.index("--platform") + 1 :: 2])


def test_musl_target_uses_musllinux_tags() -> None:
    assert PythonTarget("3.12.1", "x86_64", None).platforms == [
        "musllinux_1_2_x86_64",
        "musllinux_1_1_x86_64",
    ]


def test_runnables_lists_main_packages_modules_and_console_scripts(
    make_wheel: Callable[[str, dict[str, str]], Path],
) -> None:
    server = make_wheel(
        "srv-1.0-py3-none-any.whl",
        {
            "srv/__init__.py": "",
            "srv/__main__.py": "",
            "srv/tools.py": "",
            "srv-1.0.dist-info/entry_points.txt": "[console_scripts]\nsrv-run = srv.cli:main [extra]\n"
            "[other]\nx = y:z\n",
        },
    )
    dependency = make_wheel("dep-1.0-py3-none-any.whl", {"dep.py": "", "dep-1.0.dist-info/METADATA": ""})
    found = runnables([server, dependency])
    assert found.modules == {"srv", "srv.tools", "dep"}
    assert found.main_packages == {"srv"}
    assert found.importable == {"srv", "srv.tools", "dep"}
    assert found.scripts == {"srv-run": "srv.cli:main"}
    assert found.describe() == "python -m srv, srv-run"


def test_runtime_wheel_is_built_once_per_runtime_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The system's temporary folder on another filesystem than a fresh cache (a tmpfs /tmp): the finished wheel
    # must still land in the cache.
    monkeypatch.setattr(tempfile, "tempdir", "/dev/shm")
    first = runtime_wheel_dir(tmp_path / "fresh-cache", SilentReporter())
    (wheel,) = first.glob("mcpkit_runtime-*.whl")
    built = wheel.stat()
    calls: list[Path] = []
    monkeypatch.setattr(wheelhouse, "build_kit_wheel", lambda *args: calls.append(args[0]))
    assert runtime_wheel_dir(tmp_path / "fresh-cache", SilentReporter()) == first
    assert calls == [], "the second call builds nothing"
    assert (wheel.stat().st_ino, wheel.stat().st_mtime_ns) == (built.st_ino, built.st_mtime_ns)


@pytest.mark.parametrize(
    "requirement",
    [
        "evil @ file:///tmp/evil",
        "evil @ file:///tmp/evil-1.0.tar.gz",
        "evil @ https://example.invalid/evil-1.0.tar.gz",
        "evil @ git+https://example.invalid/evil.git",
        "evil @ https://example.invalid/evil.zip",
    ],
)
def test_a_requirement_that_needs_a_source_build_never_reaches_the_hosts_resolver(requirement: str) -> None:
    with pytest.raises(KitError, match="points at source, not a wheel"):
        wheelhouse.resolve([requirement], TARGET, [], SilentReporter())


def test_a_direct_url_to_a_wheel_is_a_wheel_and_passes_the_check() -> None:
    wheelhouse.require_wheel_only("tool @ https://example.invalid/tool-1.0-py3-none-any.whl")
    wheelhouse.require_wheel_only("mcp-server-time==2025.1")


def test_text_that_is_no_requirement_is_a_clear_error() -> None:
    with pytest.raises(KitError, match="is not a requirement"):
        wheelhouse.require_wheel_only("./some/folder")
