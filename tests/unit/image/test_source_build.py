from pathlib import Path

import pytest

from kit.errors import KitError
from kit.image.source_build import DEFAULT_BACKEND, build_backend


def _project(tmp_path: Path, build_system: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "demo"\n{build_system}')
    return tmp_path


def test_the_build_backend_and_its_in_tree_folders_come_from_the_build_system_table(tmp_path: Path) -> None:
    declared = '[build-system]\nrequires = []\nbuild-backend = "backend:api"\nbackend-path = ["tools"]\n'
    assert build_backend(_project(tmp_path, declared)) == ["backend:api", "tools"]


def test_a_project_without_a_backend_is_built_by_setuptools_legacy_backend(tmp_path: Path) -> None:
    assert build_backend(_project(tmp_path, "")) == [DEFAULT_BACKEND]


def test_a_backend_path_outside_the_project_is_refused(tmp_path: Path) -> None:
    for path in ("../elsewhere", "/usr/lib"):
        declared = f'[build-system]\nbuild-backend = "b"\nbackend-path = ["{path}"]\n'
        with pytest.raises(KitError, match="inside the project"):
            build_backend(_project(tmp_path, declared))
