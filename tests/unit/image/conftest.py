from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture
def make_wheel(tmp_path: Path) -> Callable[[str, dict[str, str]], Path]:
    """A wheel file of that name in the test's folder, holding those files (name: text)."""

    def make(name: str, files: dict[str, str]) -> Path:
        path = tmp_path / name
        with zipfile.ZipFile(path, "w") as archive:
            for member, text in files.items():
                archive.writestr(member, text)
        return path

    return make
