"""What `pip install mcpkit` gets: the wheel holds the code, the image recipes, the runtime's source and the
scaffolding templates, and nothing of the repository's own servers or tests."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_wheel_ships_code_recipes_runtime_source_and_templates(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "--wheel-dir",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    (wheel,) = tmp_path.glob("mcpkit-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "kit/cli/__init__.py",
        "kit/cli/app.py",
        "kit/__main__.py",
        "kit/_images/server.Dockerfile",
        "kit/_images/base/recipe.toml",
        "kit/_runtime/pyproject.toml",
        "kit/_runtime/mcpkit_runtime/server.py",
        "kit/project/templates/server/pyproject.toml.tmpl",
        "kit/project/templates/project/mcpkit.toml",
    ):
        assert required in names, f"{required} is missing from the wheel"
    assert not [n for n in names if n.startswith(("servers/", "tests/", "analyst/", "mailer/"))]
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "kit = kit.cli:app" in zipfile.ZipFile(wheel).read(entry_points).decode()
