"""Shared fixtures: every test sees a throwaway project and cache, never the user's real files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kit.project.settings import ENV_PREFIX, Settings
from kit.project.trust import SAFE_DIRECTORIES

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of this repository's servers/ in a temporary project folder."""
    root = tmp_path / "project"
    shutil.copytree(
        REPO / "servers", root / "servers", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    return root


def kit_variables() -> list[str]:
    """Every KIT_* variable the kit reads: one per settings field, so a new setting is isolated as it is added,
    and the two that are not settings (which projects the user trusts; where secrets are kept)."""
    return [ENV_PREFIX + name.upper() for name in Settings.model_fields] + [
        SAFE_DIRECTORIES,
        "KIT_SECRET_BACKEND",
    ]


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No KIT_* value of the shell that runs the tests, and a home (with its config and cache folders) of its own."""
    for name in kit_variables():
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
