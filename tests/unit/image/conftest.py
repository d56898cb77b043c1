from __future__ import annotations

import io
import tarfile
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


@pytest.fixture
def make_tar() -> Callable[..., Path]:
    """A tar at `path` of those names (a trailing slash makes a folder; a file holds its own name), then the `special`
    members as they are: what a build container might write."""

    def make(path: Path, names: list[str], special: list[tarfile.TarInfo] | None = None) -> Path:
        with tarfile.open(path, "w") as archive:
            for name in names:
                member = tarfile.TarInfo(name.rstrip("/"))
                if name.endswith("/"):
                    member.type = tarfile.DIRTYPE
                    archive.addfile(member)
                else:
                    member.size = len(name)
                    archive.addfile(member, io.BytesIO(name.encode()))
            for member in special or []:
                archive.addfile(member)
        return path

    return make
