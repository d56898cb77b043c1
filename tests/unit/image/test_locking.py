"""A lock's fingerprint follows what the lock is resolved from, never the code of what it installs: a fresh clone,
another checkout or a code change leaves the committed locks as they are."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kit.image import locking
from kit.image.wheelhouse import PythonTarget
from kit.project.servers import load_server
from kit.resources import runtime_source_dir

TARGET = PythonTarget("3.11.2", "x86_64", "2.36")


@pytest.fixture
def runtime_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy = tmp_path / "runtime"
    shutil.copytree(runtime_source_dir(), copy, ignore=shutil.ignore_patterns("__pycache__", "tests"))
    monkeypatch.setattr(locking, "runtime_source_dir", lambda: copy)
    return copy


def test_code_changes_and_other_paths_leave_the_fingerprint_alone(
    project: Path, runtime_copy: Path, tmp_path: Path
) -> None:
    analyst = load_server(project / "servers" / "analyst")
    before = locking.fingerprint(analyst, TARGET)
    (runtime_copy / "mcpkit_runtime" / "limits.py").write_text("# changed code\n", encoding="utf-8")
    (project / "servers" / "analyst" / "analyst" / "guard.py").write_text(
        "# changed code\n", encoding="utf-8"
    )
    assert locking.fingerprint(analyst, TARGET) == before
    moved = shutil.copytree(project, tmp_path / "elsewhere" / "project")
    assert locking.fingerprint(load_server(moved / "servers" / "analyst"), TARGET) == before


def test_what_the_lock_is_resolved_from_changes_the_fingerprint(project: Path, runtime_copy: Path) -> None:
    analyst = load_server(project / "servers" / "analyst")
    before = locking.fingerprint(analyst, TARGET)
    assert locking.fingerprint(analyst, PythonTarget("3.13.1", "x86_64", "2.36")) != before
    pinned = analyst.model_copy(
        update={"declaration": analyst.declaration.model_copy(update={"pins": ["mcp<2.3.1"]})}
    )
    assert locking.fingerprint(pinned, TARGET) != before
    pyproject = runtime_copy / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('version = "', 'version = "9', 1))
    assert locking.fingerprint(analyst, TARGET) != before, "the runtime's version is in the lock"
