"""Dependencies resolved and downloaded on the host, for the base image's own Python and platform.

The image build then installs from these wheels with --no-index: nothing inside a container touches the network.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

import docker
from docker.errors import ContainerError, ImageNotFound

from kit.errors import KitError
from kit.project.servers import source_hash
from kit.reporting import Reporter
from kit.resources import runtime_source_dir

_PROBE = (
    "import json, platform, sys; "
    "print(json.dumps({'version': platform.python_version(), 'implementation': sys.implementation.name, "
    "'libc': platform.libc_ver(), 'machine': platform.machine()}))"
)
_OLDEST_MANYLINUX_MINOR = 17  # manylinux2014: the oldest tag current wheels are published for


@dataclass(frozen=True)
class PythonTarget:
    """The interpreter of a base image, as pip needs to know it to pick wheels."""

    version: str  # e.g. "3.11.2"
    machine: str  # e.g. "x86_64"
    glibc: str | None  # e.g. "2.36"; None for musl-based images

    @property
    def short_version(self) -> str:
        major, minor, *_ = self.version.split(".")
        return f"{major}.{minor}"

    @property
    def platforms(self) -> list[str]:
        if self.glibc is None:
            return [f"musllinux_1_{minor}_{self.machine}" for minor in (2, 1)]
        major, minor = (int(p) for p in self.glibc.split(".")[:2])
        tags = [
            f"manylinux_{major}_{m}_{self.machine}" for m in range(minor, _OLDEST_MANYLINUX_MINOR - 1, -1)
        ]
        return [*tags, f"manylinux2014_{self.machine}", f"linux_{self.machine}"]

    def pip_target_args(self) -> list[str]:
        tag = self.short_version.replace(".", "")
        args = ["--only-binary=:all:", "--python-version", self.short_version, "--implementation", "cp"]
        args += ["--abi", f"cp{tag}", "--abi", "abi3", "--abi", "none"]
        for platform in self.platforms:
            args += ["--platform", platform]
        return args


@dataclass(frozen=True)
class LockedWheel:
    name: str
    version: str
    filename: str
    sha256: str
    local_path: Path | None = None  # built from a project folder, not downloaded

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version} --hash=sha256:{self.sha256}"


def probe_python(client: docker.DockerClient, image: str) -> PythonTarget:
    """Ask the base image which Python it has, rather than assuming."""
    try:
        output = client.containers.run(image, ["python3", "-c", _PROBE], network_mode="none", remove=True)
    except ImageNotFound:
        raise KitError(
            f"base image {image} is not available", hint="run `kit base`, or set KIT_BASE_IMAGE"
        ) from None
    except ContainerError as exc:
        raise KitError(
            f"base image {image} has no working python3: {exc}", hint="pick a base with python3"
        ) from None
    info = json.loads(output)
    if info["implementation"] != "cpython":
        raise KitError(f"base image {image} runs {info['implementation']}; the kit supports CPython bases")
    libc_name, libc_version = info["libc"]
    return PythonTarget(info["version"], info["machine"], libc_version if libc_name == "glibc" else None)


def build_server_wheel(server_path: Path, destination: Path, reporter: Reporter) -> Path:
    """A project folder as a wheel, built on the host (its build backend comes from the package index)."""
    destination.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mcpkit-wheel-") as scratch:
        _pip(
            ["wheel", "--no-deps", "--quiet", "--wheel-dir", scratch, str(server_path)],
            reporter,
            f"building the wheel of {server_path}",
            hint=f"check {server_path / 'pyproject.toml'}; `pip wheel {server_path}` shows the same error",
        )
        (wheel,) = Path(scratch).glob("*.whl")
        return Path(shutil.copy2(wheel, destination / wheel.name))


def runtime_wheel_dir(cache_dir: Path, reporter: Reporter) -> Path:
    """A folder holding the mcpkit-runtime wheel, built once per runtime source from the copy this kit ships.

    Servers depend on `mcpkit-runtime` like on any package; no index has it, so every resolution also looks here.
    """
    source = runtime_source_dir()
    folder = cache_dir / "runtime-wheels" / source_hash(source)[:16]
    if not any(folder.glob("*.whl")):
        scratch = Path(
            tempfile.mkdtemp(prefix=".building-", dir=folder.parent if folder.parent.exists() else None)
        )
        try:
            build_server_wheel(source, scratch, reporter)
            folder.parent.mkdir(parents=True, exist_ok=True)
            os.replace(scratch, folder)  # whole or not at all, also when two builds race
        except OSError:
            if not any(folder.glob("*.whl")):
                raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return folder


def resolve(
    requirement: Path, target: PythonTarget, find_links: list[Path], reporter: Reporter
) -> list[LockedWheel]:
    """Every wheel `requirement` needs on `target`, pinned with hashes (the requirement itself excluded)."""
    with tempfile.TemporaryDirectory(prefix="mcpkit-resolve-") as scratch:
        report_path = Path(scratch) / "report.json"
        args = ["install", "--dry-run", "--ignore-installed", "--quiet", "--report", str(report_path)]
        args += ["--target", str(Path(scratch) / "target"), *target.pip_target_args()]
        for folder in find_links:
            args += ["--find-links", str(folder)]
        _pip([*args, str(requirement)], reporter, "resolving dependencies")
        report = json.loads(report_path.read_text(encoding="utf-8"))
    locked = []
    for item in report["install"]:
        info = item["download_info"]
        name, version = item["metadata"]["name"], item["metadata"]["version"]
        if info["url"].startswith("file:"):
            path = Path(url2pathname(urlparse(info["url"]).path))
            if path.resolve() != requirement.resolve():  # the server's own wheel is installed separately
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                locked.append(LockedWheel(name, version, path.name, digest, local_path=path))
            continue
        hashes = info.get("archive_info", {}).get("hashes", {})
        if "sha256" not in hashes:
            raise KitError(
                f"the package index gave no sha256 for {info['url']}", hint="use an index that serves hashes"
            )
        filename = unquote(Path(urlparse(info["url"]).path).name)
        locked.append(LockedWheel(name, version, filename, hashes["sha256"]))
    return sorted(locked, key=lambda w: w.name.lower())


def download(locked: list[LockedWheel], target: PythonTarget, wheelhouse: Path, reporter: Reporter) -> None:
    """Fetch into the shared wheelhouse whatever it does not hold yet."""
    wheelhouse.mkdir(parents=True, exist_ok=True)
    missing = [w for w in locked if w.local_path is None and not (wheelhouse / w.filename).is_file()]
    if not missing:
        reporter.detail(f"all {len(locked)} wheels already in {wheelhouse}")
        return
    args = ["download", "--no-deps", "--quiet", "--dest", str(wheelhouse), *target.pip_target_args()]
    _pip(
        [*args, *(f"{w.name}=={w.version}" for w in missing)], reporter, f"downloading {len(missing)} wheels"
    )
    absent = [w.filename for w in missing if not (wheelhouse / w.filename).is_file()]
    if absent:
        raise KitError(
            f"pip did not download {', '.join(absent)}", hint="check the package index configuration"
        )


@dataclass(frozen=True)
class Runnables:
    """What a set of wheels can start: modules for `python -m`, packages among them with a __main__, and console
    scripts (name -> "module:function")."""

    modules: frozenset[str]
    main_packages: frozenset[str]
    scripts: dict[str, str]

    def describe(self) -> str:
        found = [f"python -m {m}" for m in sorted(self.main_packages)] + sorted(self.scripts)
        return ", ".join(found) or "nothing: no package with a __main__ and no console script"


def runnables(wheels: list[Path]) -> Runnables:
    modules: set[str] = set()
    mains: set[str] = set()
    scripts: dict[str, str] = {}
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as archive:
            for name in archive.namelist():
                if name.split("/", 1)[0].endswith((".dist-info", ".data")):
                    if name.endswith(".dist-info/entry_points.txt"):
                        scripts.update(_console_scripts(archive.read(name).decode("utf-8", errors="replace")))
                elif name.endswith("/__main__.py"):
                    mains.add(name.removesuffix("/__main__.py").replace("/", "."))
                elif name.endswith(".py") and not name.endswith("/__init__.py"):
                    modules.add(name.removesuffix(".py").replace("/", "."))
    return Runnables(frozenset(modules | mains), frozenset(mains), scripts)


def _console_scripts(entry_points: str) -> dict[str, str]:
    section, scripts = "", {}
    for raw in entry_points.splitlines():
        line = raw.strip()
        if line.startswith("["):
            section = line.strip("[]").strip()
        elif section == "console_scripts" and "=" in line:
            name, target = line.split("=", 1)
            scripts[name.strip()] = target.split("[", 1)[0].strip()
    return scripts


_DEPENDENCY_HINT = (
    "a dependency may have no wheel for the base image's Python/platform; pin another version, "
    "or check that the package index is reachable from this host"
)


def _pip(args: list[str], reporter: Reporter, doing: str, hint: str = _DEPENDENCY_HINT) -> None:
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", *args]
    result = subprocess.run(command, capture_output=True, text=True)
    for line in result.stdout.splitlines():
        reporter.detail(line)
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-15:])
        raise KitError(
            f"pip failed while {doing}:\n{tail}",
            hint=hint,
        )
