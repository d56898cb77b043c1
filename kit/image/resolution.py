"""Why a resolution failed, told apart: a package the index does not have, a package with no release for the base's
Python (which Python its newest release needs, and a base that has it), one that publishes no wheel for this
Python and platform (it needs a source build), and a conflict (pip's own account of its cause)."""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from kit.errors import KitError

# The Pythons a base can have here: Debian's suites (`kit base`), and the standard images where they can be pulled.
BASES = [
    ("3.11", "mcpkit/base:bookworm (`kit base`)"),
    (
        "3.13",
        "mcpkit/base:trixie (`KIT_DEBIAN_SUITE=trixie kit base`, then KIT_BASE_IMAGE=mcpkit/base:trixie)",
    ),
    ("3.12", "python:3.12-slim (KIT_BASE_IMAGE, where images can be pulled)"),
]
_NOT_FOUND = re.compile(r"No matching distribution found for (\S+)")
_FROM_VERSIONS = re.compile(r"\(from versions: ([^)]*)\)")
_IGNORED = re.compile(r"(\S+) Requires-Python (\S[^;]*)")
IndexFiles = Callable[[str], list[dict[str, Any]] | None]  # a project's files on the index; None: not there


def explain(
    stdout: str, stderr: str, python: str, platforms: list[str], index: IndexFiles | None = None
) -> KitError:
    """The KitError for a failed `pip install --dry-run` resolving for CPython `python` on `platforms`."""
    if "ResolutionImpossible" in stderr:
        return _conflict(stdout, stderr)
    missing = _NOT_FOUND.search(stderr)
    if missing is None:
        tail = "\n".join(stderr.strip().splitlines()[-15:])
        return KitError(
            f"pip could not resolve the dependencies:\n{tail}",
            hint="check that the package index is reachable from this host",
        )
    try:
        requirement = Requirement(missing.group(1))
    except InvalidRequirement:
        requirement = Requirement(re.sub(r"[^\w.-].*", "", missing.group(1)) or "unknown")
    ignored = [line for line in stderr.splitlines() if "require a different python version" in line]
    too_new = _too_new(requirement, ignored[0], python) if ignored else None
    if too_new is not None:
        return too_new
    files = (index or index_files)(requirement.name)
    if files is None:
        return KitError(
            f"{requirement.name} is not on the package index",
            hint=f"check the name: https://pypi.org/project/{requirement.name}/ (a private index: set PIP_INDEX_URL)",
        )
    if any(requirement.specifier.contains(v, prereleases=True) for v in _versions(files)):
        return _no_wheel(requirement, files, python, platforms)
    offered = _FROM_VERSIONS.search(stderr)
    versions = [v.strip() for v in offered.group(1).split(",") if v.strip() != "none"] if offered else []
    return KitError(
        f"{requirement.name} has no release {requirement.specifier}"
        + (f" (the newest with a wheel for Python {python}: {', '.join(versions[-3:])})" if versions else ""),
        hint=f"require a version of {requirement.name} that exists",
    )


def _versions(files: list[dict[str, Any]]) -> set[Version]:
    found = set()
    for file in files:
        name = str(file.get("filename", ""))
        try:
            if name.endswith(".whl"):
                found.add(parse_wheel_filename(name)[1])
            elif name.endswith((".tar.gz", ".zip")):
                found.add(Version(name.rsplit(".tar.gz", 1)[0].rsplit(".zip", 1)[0].rsplit("-", 1)[-1]))
        except (InvalidWheelFilename, InvalidVersion):
            continue
    return found


def _conflict(stdout: str, stderr: str) -> KitError:
    lines = stdout.splitlines()
    start = next((i for i, line in enumerate(lines) if "The conflict is caused by" in line), None)
    cause: list[str] = []
    if start is not None:
        for line in lines[start + 1 :]:
            if not line.strip():
                break
            if line.strip() not in cause:
                cause.append(line.strip())
    asked = [line for line in cause if line.startswith("The user requested")]
    depends = [line for line in cause if not line.startswith("The user requested")]
    shown = [*depends[:4], *(["..."] if len(depends) > 4 else []), *asked]
    first = next((line for line in stderr.splitlines() if line.startswith("ERROR: Cannot install")), "")
    return KitError(
        "no set of versions satisfies every requirement; the conflict is caused by:\n  "
        + "\n  ".join(shown or [first.removeprefix("ERROR: ")]),
        hint="loosen or drop the pin that conflicts (pins in the server's declaration, or `kit add ... --replace`)",
    )


def _too_new(requirement: Requirement, ignored: str, python: str) -> KitError | None:
    """When releases the requirement allows were passed over for their Requires-Python; None when only releases
    it does not allow were (the failure is another one)."""
    needs: dict[Version, str] = {}
    for version, spec in _IGNORED.findall(ignored.split(":", 1)[-1]):
        try:
            needs[Version(version)] = spec.strip()
        except InvalidVersion:
            continue
    wanted = [v for v in needs if requirement.specifier.contains(v, prereleases=True)]
    if not wanted:
        return None
    newest = max(wanted, key=lambda v: (not v.is_prerelease, v))
    spec = needs[newest]
    base = base_for(spec)
    return KitError(
        f"no release of {requirement} runs on the base's Python {python}: the newest, {newest}, needs Python {spec}",
        hint=(f"use a base with a Python it takes: {base}" if base else "use a base with a newer Python")
        + f", or require an older {requirement.name} that supports Python {python}",
    )


def base_for(requires_python: str) -> str | None:
    """A base whose Python satisfies `requires_python`, the kit's own first."""
    try:
        spec = SpecifierSet(requires_python)
    except InvalidSpecifier:
        return None
    return next((f"{name} has Python {version}" for version, name in BASES if spec.contains(version)), None)


def _no_wheel(
    requirement: Requirement, files: list[dict[str, Any]], python: str, platforms: list[str]
) -> KitError:
    wheels: list[tuple[Version, frozenset[Tag]]] = []
    for file in files:
        try:
            _, version, _, tags = parse_wheel_filename(str(file.get("filename", "")))
        except (InvalidWheelFilename, InvalidVersion):
            continue  # a source archive, or a name that is no wheel's
        if requirement.specifier.contains(version, prereleases=True):
            wheels.append((version, tags))
    if not wheels:
        return KitError(
            f"{requirement} publishes no wheel, only sources: it needs a source build, which the kit does not run "
            "on this host",
            hint="require a version that has wheels, or build it as a server folder under servers/ (folders are "
            "built in a container without network)",
        )
    newest = max(version for version, _ in wheels)
    newest_tags = {tag for version, wheel_tags in wheels if version == newest for tag in wheel_tags}
    pythons = sorted({tag.interpreter for tag in newest_tags})
    base = next(
        (
            f"{name} has Python {version}"
            for version, name in BASES
            if newest_tags & _tags(version, platforms)
        ),
        None,
    )
    return KitError(
        f"{requirement.name} {newest} has no wheel for CPython {python} on {platforms[0]} (its wheels are for "
        f"{', '.join(pythons)}): it needs a source build, which the kit does not run on this host",
        hint=(f"use a base it has wheels for: {base}" if base else "use a base it has wheels for")
        + f", or require a version of {requirement.name} with a wheel for Python {python}",
    )


def _tags(python: str, platforms: list[str]) -> set[Tag]:
    version = tuple(int(part) for part in python.split(".")[:2])
    return {*cpython_tags(version, platforms=platforms), *compatible_tags(version, platforms=platforms)}


def index_files(name: str) -> list[dict[str, Any]] | None:
    """The project's files on the package index (the simple API's JSON form), None when it has no such project."""
    index = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")
    request = urllib.request.Request(
        f"{index}/{canonicalize_name(name)}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return list(json.load(response).get("files", []))
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise KitError(f"the package index answered {exc.code} for {name}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise KitError(
            f"pip found no {name}, and the package index could not be asked why: {exc}",
            hint="check that the package index is reachable from this host",
        ) from None
