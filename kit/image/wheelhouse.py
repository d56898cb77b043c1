"""Dependencies resolved and downloaded on the host, for the base image's own Python and platform.

The image build then installs from these wheels with --no-index: nothing inside a container touches the network.
"""

from __future__ import annotations

import dataclasses
import email.parser
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

import docker
import platformdirs
from docker.errors import ContainerError, ImageNotFound
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from kit.containers import engine
from kit.errors import KitError
from kit.image import resolution
from kit.project.locks import LockedPackage
from kit.project.sources import source_hash
from kit.reporting import Reporter
from kit.resources import pack_installed_runtime, runtime_project, runtime_source_dir

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

    def describe(self) -> str:
        """What a lock was resolved for: changes exactly when the wheels pip picks could."""
        return f"CPython {self.short_version} {self.platforms[0]}"

    def pip_target_args(self) -> list[str]:
        tag = self.short_version.replace(".", "")
        args = ["--only-binary=:all:", "--python-version", self.short_version, "--implementation", "cp"]
        args += ["--abi", f"cp{tag}", "--abi", "abi3", "--abi", "none"]
        for platform in self.platforms:
            args += ["--platform", platform]
        return args


def target_of(client: docker.DockerClient, image: str, cache_dir: Path) -> PythonTarget:
    """The base image's Python, asked once per image id (a container start) and remembered in the cache."""
    found = engine.find_image(client, image)
    image_id = str(found.id) if found else ""
    remembered = cache_dir / "targets" / f"{image_id.removeprefix('sha256:')}.json"
    if image_id and remembered.is_file():
        return PythonTarget(**json.loads(remembered.read_text(encoding="utf-8")))
    target = probe_python(client, image)
    if image_id:
        remembered.parent.mkdir(parents=True, exist_ok=True)
        remembered.write_text(json.dumps(dataclasses.asdict(target)), encoding="utf-8")
    return target


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


def build_kit_wheel(server_path: Path, destination: Path, reporter: Reporter) -> Path:
    """The kit's own runtime as a wheel, built on the host: the kit's code, not a project's (a project's folders
    are built in a container, see source_build)."""
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
    """A folder holding the mcpkit-runtime wheel, made once per runtime source from the installed distribution.

    Servers depend on `mcpkit-runtime` like on any package; no index has it, so every resolution also looks here.
    """
    source = runtime_source_dir()
    folder = cache_dir / "runtime-wheels" / source_hash(source)[:16]
    if not any(folder.glob("*.whl")):
        folder.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(
            tempfile.mkdtemp(prefix=".building-", dir=folder.parent)
        )  # beside it: a rename, not a copy
        try:
            project = runtime_project()
            if project is not None:
                build_kit_wheel(project, scratch, reporter)
            else:
                pack_installed_runtime(scratch)
            os.replace(scratch, folder)  # whole or not at all, also when two builds race
        except OSError:
            if not any(folder.glob("*.whl")):
                raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return folder


def resolve(
    requirements: list[str],
    target: PythonTarget,
    find_links: list[Path],
    reporter: Reporter,
    *,
    constraints: list[str] | None = None,
    exclude: Path | None = None,
) -> list[LockedPackage]:
    """Every package `requirements` need on `target`, pinned with hashes. A wheel found in `find_links` (built here
    from source) is locked as a local package; `exclude` (the server's own wheel) is left out."""
    for requirement in [*requirements, *(constraints or [])]:
        require_wheel_only(requirement)
    with tempfile.TemporaryDirectory(prefix="mcpkit-resolve-") as scratch:
        report_path = Path(scratch) / "report.json"
        # Not --quiet: pip tells a conflict's cause at the info level.
        args = ["install", "--dry-run", "--ignore-installed", "--report", str(report_path)]
        args += ["--target", str(Path(scratch) / "target"), *target.pip_target_args()]
        for folder in find_links:
            args += ["--find-links", str(folder)]
        if constraints:
            constraint_file = Path(scratch) / "constraints.txt"
            constraint_file.write_text("".join(c + "\n" for c in constraints), encoding="utf-8")
            args += ["--constraint", str(constraint_file)]
        _pip(
            [*args, *requirements], reporter, "resolving dependencies",
            explain=lambda out, err: resolution.explain(out, err, target.short_version, target.platforms),
        )  # fmt: skip
        report = json.loads(report_path.read_text(encoding="utf-8"))
    locked = []
    for item in report["install"]:
        info = item["download_info"]
        name, version = item["metadata"]["name"], item["metadata"]["version"]
        if info["url"].startswith("file:"):
            path = Path(url2pathname(urlparse(info["url"]).path))
            if exclude is None or path.resolve() != exclude.resolve():
                locked.append(LockedPackage(name, version, local=canonicalize_name(name)))
            continue
        hashes = info.get("archive_info", {}).get("hashes", {})
        if "sha256" not in hashes:
            raise KitError(
                f"the package index gave no sha256 for {info['url']}", hint="use an index that serves hashes"
            )
        filename = unquote(Path(urlparse(info["url"]).path).name)
        locked.append(LockedPackage(name, version, sha256=hashes["sha256"], filename=filename))
    return sorted(locked, key=lambda p: canonicalize_name(p.name))


def require_wheel_only(requirement: str) -> None:
    """Only wheels reach the host's resolver: a direct URL or a local path to anything else is a source build,
    which runs the package's own code (its setup.py, its build backend) on the host."""
    if requirement.endswith(".whl") and Path(requirement).is_file():
        return  # a wheel the kit built itself
    try:
        url = Requirement(requirement).url
    except InvalidRequirement:
        raise KitError(
            f"{requirement!r} is not a requirement",
            hint='write it as on pip\'s command line: "name==1.2" or "name>=1"',
        ) from None
    if url is not None and not unquote(urlparse(url).path).endswith(".whl"):
        raise KitError(
            f"{requirement!r} points at source, not a wheel: building it would run its code on this host",
            hint="use a released wheel from the package index (name==version), a direct URL to a .whl, or make it "
            "a server folder under servers/ (folders are built in a container without network)",
        )


_DOWNLOADS = threading.Lock()  # builds run in parallel and share the wheelhouse


def download(
    packages: list[LockedPackage], target: PythonTarget, wheelhouse: Path, reporter: Reporter
) -> None:
    """Fetch into the shared wheelhouse what it does not hold yet, checked against the locked hashes."""
    with _DOWNLOADS:
        wheelhouse.mkdir(parents=True, exist_ok=True)
        missing = [p for p in packages if p.local is None and not (wheelhouse / str(p.filename)).is_file()]
        if not missing:
            reporter.detail(f"all {len(packages)} wheels already in {wheelhouse}")
            return
        with tempfile.TemporaryDirectory(prefix="mcpkit-download-") as scratch:
            requirements = Path(scratch) / "requirements.txt"
            requirements.write_text("".join(p.line() + "\n" for p in missing), encoding="utf-8")
            args = ["download", "--no-deps", "--require-hashes", "--quiet", "--dest", str(wheelhouse)]
            args += [*target.pip_target_args(), "-r", str(requirements)]
            _pip(args, reporter, f"downloading {len(missing)} wheels")
        absent = [str(p.filename) for p in missing if not (wheelhouse / str(p.filename)).is_file()]
        if absent:
            raise KitError(
                f"pip did not download {', '.join(absent)}", hint="check the package index configuration"
            )


@dataclass(frozen=True)
class WheelInfo:
    name: str
    version: str
    requires: list[str]  # Requires-Dist, as written
    top_levels: frozenset[str]  # the importable names it installs


def inspect_wheel(wheel: Path) -> WheelInfo:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata_name = next(n for n in names if n.count("/") == 1 and n.endswith(".dist-info/METADATA"))
        metadata = email.parser.HeaderParser().parsestr(
            archive.read(metadata_name).decode("utf-8", "replace")
        )
    tops = {
        n.split("/", 1)[0].removesuffix(".py")
        for n in names
        if not n.split("/", 1)[0].endswith((".dist-info", ".data")) and (n.endswith(".py") or "/" in n)
    }
    return WheelInfo(
        str(metadata["Name"]),
        str(metadata["Version"]),
        metadata.get_all("Requires-Dist") or [],
        frozenset(tops),
    )


@dataclass(frozen=True)
class Runnables:
    """What a set of wheels can start: modules for `python -m` (packages among them need a __main__), everything
    importable (for `module:function`), and console scripts (name -> "module:function")."""

    modules: frozenset[str]
    main_packages: frozenset[str]
    importable: frozenset[str]
    scripts: dict[str, str]

    def describe(self) -> str:
        found = [f"python -m {m}" for m in sorted(self.main_packages)] + sorted(self.scripts)
        return ", ".join(found) or "nothing: no package with a __main__ and no console script"


def runnables(wheels: list[Path]) -> Runnables:
    modules: set[str] = set()
    packages: set[str] = set()
    mains: set[str] = set()
    scripts: dict[str, str] = {}
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as archive:
            for name in archive.namelist():
                dotted = name.removesuffix(".py").replace("/", ".")
                if name.split("/", 1)[0].endswith((".dist-info", ".data")):
                    if name.endswith(".dist-info/entry_points.txt"):
                        scripts.update(_console_scripts(archive.read(name).decode("utf-8", errors="replace")))
                elif name.endswith("/__main__.py"):
                    mains.add(dotted.removesuffix(".__main__"))
                elif name.endswith("/__init__.py"):
                    packages.add(dotted.removesuffix(".__init__"))
                elif name.endswith(".py"):
                    modules.add(dotted)
    return Runnables(frozenset(modules | mains), frozenset(mains), frozenset(modules | packages), scripts)


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


# An older pip checks a dependency's Requires-Python against the host's Python, not --python-version: pip 23.2
# rejects a package that fits the base. Where the host's pip is older, the resolution runs a newer pip's wheel.
_RESOLVER_PIP = "pip>=25.1"
_RESOLVER_LOCK = threading.Lock()


def _pip_command(reporter: Reporter) -> list[str]:
    try:
        if Version(importlib.metadata.version("pip")) in SpecifierSet(_RESOLVER_PIP[3:]):
            return [sys.executable, "-m", "pip"]
    except importlib.metadata.PackageNotFoundError:
        pass
    folder = Path(os.environ.get("KIT_CACHE_DIR") or platformdirs.user_cache_dir("mcpkit")) / "resolver-pip"
    with _RESOLVER_LOCK:
        wheels = sorted(folder.glob("pip-*.whl"))
        if not wheels:
            reporter.step(
                f"the host's pip is older than {_RESOLVER_PIP[3:]}: fetching a newer one for resolving"
            )
            command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet"]
            result = subprocess.run(
                [*command, "--dest", str(folder), _RESOLVER_PIP], capture_output=True, text=True
            )
            wheels = sorted(folder.glob("pip-*.whl"))
            if result.returncode != 0 or not wheels:
                raise KitError(
                    f"could not download {_RESOLVER_PIP} to resolve with: {result.stderr.strip()[-500:]}",
                    hint=f"upgrade the pip the kit runs with: `pip install '{_RESOLVER_PIP}'`",
                )
    return [sys.executable, f"{wheels[-1]}/pip"]  # pip runs from its own wheel


def _pip(
    args: list[str],
    reporter: Reporter,
    doing: str,
    hint: str = _DEPENDENCY_HINT,
    explain: Callable[[str, str], KitError] | None = None,
) -> None:
    command = [*_pip_command(reporter), "--disable-pip-version-check", *args]
    result = subprocess.run(command, capture_output=True, text=True)
    for line in result.stdout.splitlines():
        reporter.detail(line)
    if result.returncode != 0 and explain is not None:
        raise explain(result.stdout, result.stderr)
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-15:])
        raise KitError(
            f"pip failed while {doing}:\n{tail}",
            hint=hint,
        )
