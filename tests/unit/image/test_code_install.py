import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from kit.image import code_install
from kit.image.code_install import _unpacked

_WHEEL = "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: {purelib}\nTag: py3-none-any\n"


def _wheel(folder: Path, purelib: str = "true", extra: dict[str, str] | None = None) -> Path:
    path = folder / "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("demo/__init__.py", "VALUE = 1\n")
        archive.writestr("demo-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n")
        archive.writestr("demo-1.0.dist-info/WHEEL", _WHEEL.format(purelib=purelib))
        for name, text in (extra or {}).items():
            archive.writestr(name, text)
    return path


def test_a_pure_wheel_is_unpacked_where_pip_target_puts_it(tmp_path: Path) -> None:
    target = tmp_path / "server"
    assert _unpacked(str(_wheel(tmp_path)), str(target))
    assert (target / "demo" / "__init__.py").read_text() == "VALUE = 1\n"
    assert (target / "demo-1.0.dist-info" / "INSTALLER").read_text() == "mcpkit\n"


def test_a_wheel_with_scripts_or_not_pure_is_left_to_pip(tmp_path: Path) -> None:
    target = tmp_path / "server"
    with_data = _wheel(tmp_path, extra={"demo-1.0.data/scripts/demo": "#!python\n"})
    assert not _unpacked(str(with_data), str(target))
    assert not _unpacked(str(_wheel(tmp_path, purelib="false")), str(target))
    assert not target.exists(), "nothing written before pip installs it"


def test_a_bundle_is_not_kept_when_the_build_commands_changed_the_server_s_python_files_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target, bundle = tmp_path / "server", tmp_path / "server" / ".mcpkit-start-bundle"
    (target / "demo").mkdir(parents=True)
    (target / "demo" / "data.db").write_text("data written by a build command is no reason\n")
    bundle.write_bytes(b"bundle")
    (target / "demo" / "kept.py").write_text("X = 0\n")
    monkeypatch.setattr(code_install, "TARGET", str(target))
    monkeypatch.setattr(code_install, "BUNDLE", str(bundle))
    before = code_install._python_files(str(target))
    (target / "demo" / "data.db").write_text("more data\n")
    code_install._recorded(subprocess.Popen([sys.executable, "-c", "pass"]), before)
    assert bundle.exists()
    kept = target / "demo" / "kept.py"
    old = kept.stat()
    kept.write_text("X = 1\n")
    os.utime(kept, ns=(old.st_atime_ns, old.st_mtime_ns))  # as `cp -p` or `tar -x` keep the old time
    code_install._recorded(subprocess.Popen([sys.executable, "-c", "pass"]), before)
    assert not bundle.exists()


def test_a_recording_that_failed_leaves_no_bundle_and_the_build_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = tmp_path / ".mcpkit-start-bundle"
    (tmp_path / ".mcpkit-start-bundle.partial").write_bytes(b"half a bundle")
    bundle.write_bytes(b"a bundle")
    monkeypatch.setattr(code_install, "BUNDLE", str(bundle))
    code_install._recorded(subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"]), {})
    assert list(tmp_path.iterdir()) == []
    assert "no start bundle: its recording failed (status 3)" in capsys.readouterr().err


def test_the_layer_holds_the_kept_folders_once_with_what_is_in_them_and_the_folders_above_them(
    tmp_path: Path,
) -> None:
    server, data = tmp_path / "opt" / "server", tmp_path / "opt" / "mcp" / "data"
    (server / "demo").mkdir(parents=True)
    (server / "demo" / "__init__.py").write_text("VALUE = 1\n")
    (server / "data").mkdir()
    data.mkdir(parents=True)
    (data / "demo.db").write_bytes(b"rows")
    layer = tmp_path / "layer.tar"
    code_install.write_layer(str(layer), [str(server), str(data), str(server / "data")])
    with tarfile.open(layer) as archive:
        names = archive.getnames()
    root = str(tmp_path).lstrip("/")
    assert names[-6:] == [f"{root}/opt/server", f"{root}/opt/server/data", f"{root}/opt/server/demo",
                          f"{root}/opt/server/demo/__init__.py", f"{root}/opt/mcp/data",
                          f"{root}/opt/mcp/data/demo.db"]  # fmt: skip
    assert names[:-6] == sorted(names[:-6]) and f"{root}/opt/mcp" in names and f"{root}/opt" in names
    assert len(names) == len(set(names)), "a kept folder inside another is not added twice"
