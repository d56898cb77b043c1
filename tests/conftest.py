"""Shared fixtures: every test sees a throwaway project and cache, never the user's real files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of this repository's servers/ in a temporary project folder."""
    root = tmp_path / "project"
    shutil.copytree(
        REPO / "servers", root / "servers", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    return root


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (
        "KIT_PROJECT_DIR",
        "KIT_SERVERS_DIR",
        "KIT_BASE_IMAGE",
        "KIT_IMAGE_PREFIX",
        "KIT_DEBIAN_SUITE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))
