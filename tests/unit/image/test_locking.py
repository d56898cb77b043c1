"""A lock's fingerprint follows what the lock is resolved from, never the code of what it installs: a fresh clone,
another checkout or a code change leaves the committed locks as they are."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from kit.image import locking
from kit.image.wheelhouse import PythonTarget
from kit.project.servers import load_server

TARGET = PythonTarget("3.11.2", "x86_64", "2.36")


def test_code_changes_and_other_paths_leave_the_fingerprint_alone(project: Path, tmp_path: Path) -> None:
    analyst = load_server(project / "servers" / "analyst")
    before = locking.fingerprint(analyst, TARGET)
    (project / "servers" / "analyst" / "analyst" / "guard.py").write_text(
        "# changed code\n", encoding="utf-8"
    )
    assert locking.fingerprint(analyst, TARGET) == before
    moved = shutil.copytree(project, tmp_path / "elsewhere" / "project")
    assert locking.fingerprint(load_server(moved / "servers" / "analyst"), TARGET) == before


def test_what_the_lock_is_resolved_from_changes_the_fingerprint(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    analyst = load_server(project / "servers" / "analyst")
    before = locking.fingerprint(analyst, TARGET)
    assert locking.fingerprint(analyst, PythonTarget("3.13.1", "x86_64", "2.36")) != before
    pins = analyst.declaration.model_copy(update={"pins": ["mcp<2.3.1"]})
    assert locking.fingerprint(analyst.model_copy(update={"declaration": pins}), TARGET) != before
    name, version, requires = json.loads(locking._runtime_package())
    assert name == "mcpkit-runtime" and version and requires
    monkeypatch.setattr(locking, "_runtime_package", lambda: json.dumps([name, "9.9.9", requires]))
    assert locking.fingerprint(analyst, TARGET) != before, "the runtime's version is in the lock"


def test_the_runtimes_optional_extras_are_not_part_of_the_fingerprint() -> None:
    """The gateway's observability extra is never installed in an image: adding or changing it re-locks nothing."""
    _, _, requires = json.loads(locking._runtime_package())
    assert requires and not [r for r in requires if "extra" in r]
    assert not [r for r in requires if r.startswith(("opentelemetry-sdk", "prometheus"))]
