"""What `pip install mcpkit` gets: the wheel holds the code, the image recipes and the scaffolding templates, and
nothing of the repository's own servers or tests, nor any file another distribution owns. The servers' runtime
is mcpkit-runtime's own wheel, released with the kit at the same version."""

import importlib.metadata
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path, PurePosixPath

import pytest
from packaging.requirements import Requirement

from kit import __version__, resources

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, zipfile.ZipFile]:
    """The wheels of this repository's two distributions, by distribution."""
    folder = tmp_path_factory.mktemp("wheels")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(folder),
         str(REPO), str(REPO / "runtime")],
        check=True,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )  # fmt: skip
    (kit,) = folder.glob("mcpkit-*.whl")
    (runtime,) = folder.glob("mcpkit_runtime-*.whl")
    return {"mcpkit": zipfile.ZipFile(kit), "mcpkit-runtime": zipfile.ZipFile(runtime)}


def _top_level(wheel: zipfile.ZipFile) -> set[str]:
    """What a wheel installs at the top of site-packages, its own metadata folder aside."""
    tops = {PurePosixPath(name).parts[0] for name in wheel.namelist()}
    return {top for top in tops if not top.endswith(".dist-info")}


def test_the_wheel_ships_code_recipes_and_templates(wheels: dict[str, zipfile.ZipFile]) -> None:
    names = set(wheels["mcpkit"].namelist())
    for required in (
        "kit/cli/__init__.py",
        "kit/cli/app.py",
        "kit/__main__.py",
        "kit/_images/server.Dockerfile",
        "kit/_images/base/recipe.toml",
        "kit/project/templates/server/pyproject.toml.tmpl",
        "kit/project/templates/project/mcpkit.toml",
    ):
        assert required in names, f"{required} is missing from the wheel"
    assert not [n for n in names if n.startswith(("servers/", "tests/", "analyst/", "mailer/"))]
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "kit = kit.cli:app" in wheels["mcpkit"].read(entry_points).decode()


def test_the_kits_wheel_holds_no_package_another_distribution_owns(
    wheels: dict[str, zipfile.ZipFile],
) -> None:
    kit = _top_level(wheels["mcpkit"])
    owners = {
        top: dists
        for top, dists in importlib.metadata.packages_distributions().items()
        if set(dists) != {"mcpkit"}
    }
    owners |= {top: ["mcpkit-runtime"] for top in _top_level(wheels["mcpkit-runtime"])}
    shared = {top: owners[top] for top in kit if top in owners}
    assert not shared, f"the kit's wheel installs what other distributions own: {shared}"
    assert not [n for n in wheels["mcpkit"].namelist() if "mcpkit_runtime" in n], (
        "a second copy of the runtime"
    )


def test_the_kit_depends_on_the_runtime_released_with_it() -> None:
    kit = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    runtime = tomllib.loads((REPO / "runtime" / "pyproject.toml").read_text())["project"]
    (pin,) = [r for r in map(Requirement, kit["dependencies"]) if r.name == runtime["name"]]
    assert str(pin.specifier) == f"=={__version__}" and runtime["version"] == __version__


def test_an_installed_runtime_is_packed_back_into_the_wheel_it_came_from(
    wheels: dict[str, zipfile.ZipFile], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What an installed kit gives servers (no runtime/ folder beside it): the wheel's files, not a rebuild."""
    built = wheels["mcpkit-runtime"]
    site = tmp_path / "site-packages"
    built.extractall(site)  # installed as an installer lays a wheel out, with what installers add
    (info,) = site.glob("*.dist-info")
    (info / "INSTALLER").write_text("pip\n")
    (info / "direct_url.json").write_text('{"url": "file:///tmp/x.whl", "archive_info": {}}')
    (site / "mcpkit_runtime" / "__pycache__").mkdir()
    (site / "mcpkit_runtime" / "__pycache__" / "server.cpython-311.pyc").write_bytes(b"compiled")
    with (info / "RECORD").open("a") as record:
        record.write(f"{info.name}/INSTALLER,,\n{info.name}/direct_url.json,,\nmcpkit_runtime/__pycache__/server.cpython-311.pyc,,\n")  # fmt: skip
    monkeypatch.setattr(resources, "runtime_distribution", lambda: importlib.metadata.PathDistribution(info))
    assert resources.runtime_project() is None

    packed = zipfile.ZipFile(resources.pack_installed_runtime(tmp_path / "out"))
    assert Path(packed.filename or "").name == Path(built.filename or "").name
    assert sorted(packed.namelist()) == sorted(built.namelist())
    for name in built.namelist():
        if not name.endswith("/RECORD"):
            assert packed.read(name) == built.read(name), name
    again = resources.pack_installed_runtime(tmp_path / "again")
    assert again.read_bytes() == Path(packed.filename or "").read_bytes(), (
        "the same files make the same wheel"
    )
