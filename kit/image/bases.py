"""The base each server is built on: the project's, or one whose Python the server needs (`python = "3.13"`).

Debian's suites give the kit's own bases their Python: bookworm 3.11, trixie 3.13. A server that declares another
Python gets `mcpkit/base:<suite>` (built by `kit base --suite SUITE`, or on demand by the first build that needs
it), shared by every server that declares that Python; with a standard base (KIT_BASE_IMAGE=python:3.12-slim) it
gets `python:<version>-slim`.
"""

from __future__ import annotations

from packaging.requirements import Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from kit.containers import engine
from kit.errors import KitError
from kit.image import resolution
from kit.image.base_image import ensure_base_image, is_kit_base
from kit.project.servers import Server
from kit.project.settings import Settings
from kit.reporting import Reporter

SUITES = {"3.11": "bookworm", "3.13": "trixie"}


def for_suite(settings: Settings, suite: str) -> Settings:
    """The settings that build (`kit base`) and use the kit's base of that Debian suite."""
    return settings.model_copy(
        update={"debian_suite": suite, "base_image": f"{settings.image_prefix}/base:{suite}"}
    )


def server_settings(settings: Settings, server: Server) -> Settings:
    """The settings a server is built with: its base follows the Python it declares."""
    python = server.declaration.python
    if python is None:
        return settings
    if not is_kit_base(settings):
        return settings.model_copy(update={"base_image": f"python:{python}-slim"})
    if python not in SUITES:
        raise KitError(
            f"{server.name} declares python = {python!r}, which no Debian suite the kit builds has",
            hint=f"use one of {', '.join(SUITES)}, or a standard base (KIT_BASE_IMAGE=python:{python}-slim)",
        )
    return for_suite(settings, SUITES[python])


def ensure(settings: Settings, reporter: Reporter) -> str:
    """The base image's id, built now when it is one of the kit's bases and does not exist yet."""
    with engine.connected() as client:
        found = engine.find_image(client, settings.base_image)
    if found is not None:
        return str(found.id)
    if not is_kit_base(settings):
        raise KitError(
            f"base image {settings.base_image} is not available",
            hint="pull or build it (this engine may not reach a registry), or use the kit's bases (`kit base`)",
        )
    reporter.step(
        f"base {settings.base_image} does not exist yet: building it (debootstrap {settings.debian_suite})"
    )
    return ensure_base_image(settings, reporter).image_id


def newest_release(package: str) -> tuple[str, str] | None:
    """The newest final release `package` allows on the index, and its Requires-Python ("" when it says none)."""
    requirement = Requirement(package)
    releases: dict[Version, str] = {}
    for file in resolution.index_files(requirement.name) or []:
        if file.get("yanked"):
            continue
        version = _version_of(str(file.get("filename", "")), requirement.name)
        if version is None or version.is_prerelease or not requirement.specifier.contains(version):
            continue
        releases[version] = str(file.get("requires-python") or "")
    if not releases:
        return None
    newest = max(releases)
    return str(newest), releases[newest]


def python_needed(package: str, python: str) -> tuple[str, str] | None:
    """When the newest release of `package` does not run on `python`: (that release, its Requires-Python)."""
    newest = newest_release(package)
    if newest is None or not newest[1]:
        return None
    try:
        return None if SpecifierSet(newest[1]).contains(python) else newest
    except InvalidSpecifier:
        return None


def python_for(requires_python: str) -> str | None:
    """The Python of a kit base that satisfies `requires_python`, the oldest that does."""
    try:
        spec = SpecifierSet(requires_python)
    except InvalidSpecifier:
        return None
    return next((python for python in SUITES if spec.contains(python)), None)


def _version_of(filename: str, name: str) -> Version | None:
    stem = filename.removesuffix(".whl").removesuffix(".tar.gz").removesuffix(".zip")
    parts = stem.split("-")
    if len(parts) < 2 or canonicalize_name(parts[0]) != canonicalize_name(name):
        return None
    try:
        return Version(parts[1])
    except InvalidVersion:
        return None
