"""Why a server that built fails to start, when the reason is a dependency's version.

The common case: a server written for the 1.x MCP SDK, whose requirement (`mcp>=1.6`) lets the resolver pick 2.x;
or an API a dependency removed in a minor release. The distributions the error names come first, nearest the error
first, pinned to what they and every installed distribution's requirements allow; then the server's own
dependencies locked past the oldest major they allow.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from kit.errors import KitError
from kit.image.smoke import SmokeTestFailed
from kit.image.wheelhouse import WheelInfo, inspect_wheel
from kit.project.locks import Lock
from kit.project.servers import Server

_MENTION = re.compile(
    r"site-packages/(?P<frame>[A-Za-z_]\w*)|No module named '(?P<missing>[\w.]+)'|from '(?P<source>[\w.]+)'"
    r"|module '(?P<module>[\w.]+)' has no attribute"
)


_USAGE = re.compile(r"^usage: .*$", re.M | re.I)
_USAGE_ERROR = re.compile(r"^(?:\S+: )?error: |^Error: (?:Missing|No such|Got unexpected)", re.M)
_REQUIRED = re.compile(r"the following arguments are required: (.+)$", re.M)
_CHOICES = re.compile(r"\{([\w,-]+)\}")


def wanted_arguments(stderr: str) -> str | None:
    """When the server stopped at its command line (argparse, click, typer): "stdio" when its usage offers that
    transport, else what its error says is required (e.g. "--db-path DB_PATH") or ""; None when the failure was not about its arguments."""
    usage = _USAGE.search(stderr)
    if usage is None or not _USAGE_ERROR.search(stderr):
        return None
    choices = [c for found in _CHOICES.findall(usage.group(0)) for c in found.split(",")]
    if "stdio" in choices:
        return "stdio"
    required = _REQUIRED.search(stderr)
    names = [n.strip() for n in required.group(1).split(",")] if required else []
    return " ".join(
        f"{n} {n.lstrip('-').upper().replace('-', '_')}" if n.startswith("-") else n.upper() for n in names
    )


_FAILED_OBJECT = re.compile(r"^\w+Error: '(\w+)' object has no attribute", re.M)
_IMPORT = re.compile(r"^\s*from\s+([\w.]+)\s+import\s+\(?([^)\n]+)", re.M)


def imported_names(wheel: Path) -> dict[str, str]:
    """The names the server's own modules import from other modules: name -> module (`Server` -> `mcp.server`)."""
    names: dict[str, str] = {}
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.namelist():
            if member.endswith(".py"):
                for module, imported in _IMPORT.findall(archive.read(member).decode("utf-8", "replace")):
                    for name in re.findall(r"(?:\w+\s+as\s+)?(\w+)", imported):
                        names.setdefault(name, module)
    return names


def suggest_pins(
    stderr: str,
    server: WheelInfo,
    wheels: list[WheelInfo],
    lock: Lock,
    imported: dict[str, str] | None = None,
) -> list[str]:
    """Pins to try (e.g. "mcp<2"), most likely first; none when no dependency fits the pattern.

    First the distributions the error names, nearest the error first (the failing import, the innermost frame),
    each pinned below the major version locked when the server or a dependency allows an older major, else below
    the minor version locked (an API removed in a minor release: "pydantic<2.11"). Then the server's own
    dependencies locked past the oldest major they allow."""
    mentioned = _mentioned_distributions(stderr, server, wheels)
    # "'Server' object has no attribute ...": the distribution the server imported that name from broke first.
    failed = _FAILED_OBJECT.findall(stderr)
    module = (imported or {}).get(failed[-1], "") if failed else ""
    owner = {top: canonicalize_name(w.name) for w in wheels for top in w.top_levels}.get(module.split(".")[0])
    if owner and module.split(".")[0] not in server.top_levels:
        mentioned = [owner, *(m for m in mentioned if m != owner)]
    requirers = _requirements_on(server, wheels)
    pins = []
    for name in mentioned:
        locked = lock.version_of(name)
        pin = _pin_below(name, locked, requirers.get(name, [])) if locked else None
        if pin:
            pins.append(pin)
    for requirement in _own_requirements(server):
        name = canonicalize_name(requirement.name)
        locked = lock.version_of(name)
        major = _major(locked) if locked else None
        oldest = _oldest_major_allowed(requirement)
        pin = f"{requirement.name}<{major}"
        if name not in mentioned and major is not None and oldest is not None and major > oldest:
            pins.append(pin)
    return list(dict.fromkeys(pins))


def _pin_below(name: str, locked: str, requirements: list[Requirement]) -> str | None:
    version = Version(locked)
    lower = [_oldest_major_allowed(r) for r in requirements]
    if not requirements or any(bound is None or bound < version.major for bound in lower):
        return f"{name}<{version.major}" if version.major > 0 else None
    if version.minor > 0 and all(
        r.specifier.contains(f"{version.major}.{version.minor - 1}.999") for r in requirements
    ):
        return f"{name}<{version.major}.{version.minor}"
    return None


def _own_requirements(server: WheelInfo) -> list[Requirement]:
    found = []
    for text in server.requires:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue
        if requirement.marker is None or "extra" not in str(requirement.marker):
            found.append(requirement)
    return found


def _requirements_on(server: WheelInfo, wheels: list[WheelInfo]) -> dict[str, list[Requirement]]:
    """Every installed distribution's requirement on each other one: who asks for what."""
    asked: dict[str, list[Requirement]] = {}
    for wheel in [server, *wheels]:
        for requirement in _own_requirements(wheel):
            asked.setdefault(canonicalize_name(requirement.name), []).append(requirement)
    return asked


def _mentioned_distributions(stderr: str, server: WheelInfo, wheels: list[WheelInfo]) -> list[str]:
    """The installed distributions the error names, the last named (nearest the error) first."""
    tops = {top: canonicalize_name(w.name) for w in wheels for top in w.top_levels}
    mentioned: list[str] = []
    # The last traceback is the failure; what the server logged before it names what it used, not what broke.
    for match in _MENTION.finditer(stderr[max(stderr.rfind("Traceback (most recent call last)"), 0) :]):
        module = next(group for group in match.groups() if group)
        top = module.split(".", 1)[0]
        if top in tops and top not in server.top_levels:
            mentioned = [*(m for m in mentioned if m != tops[top]), tops[top]]
    return mentioned[::-1]


def _oldest_major_allowed(requirement: Requirement) -> int | None:
    """The major version of the requirement's lower bound, if it has one."""
    bounds = [
        _major(s.version) for s in requirement.specifier if s.operator in (">=", ">", "~=", "==", "===")
    ]
    known = [b for b in bounds if b is not None]
    return min(known) if known else None


def _major(version: str) -> int | None:
    try:
        return Version(version.rstrip(".*")).major
    except InvalidVersion:
        return None


def diagnosed(
    failure: SmokeTestFailed, server: Server, own: Path, wheels: list[Path], lock: Lock
) -> KitError:
    """The smoke test's failure, with what to do when its stderr says: arguments the server wants, or a pin."""
    wanted = wanted_arguments(failure.stderr)
    if wanted is not None:
        readd = f"`kit add {server.package} --name {server.name} --replace -- {wanted or 'ARGS'}`"
        return SmokeTestFailed(
            f"{failure.message}\n{server.name} stopped at its command line: it wants arguments",
            hint=f"give them in args in {server.where}" + (f" (or {readd})" if _readd_keeps_all(server, frozenset({"args"})) else "")
            + (f"; it asks for {wanted}" if wanted else ""),
            stderr=failure.stderr,
        )  # fmt: skip
    pins = suggest_pins(
        failure.stderr, inspect_wheel(own), [inspect_wheel(w) for w in wheels], lock,
        imported_names(own),
    )  # fmt: skip
    if not pins:
        return failure
    readd = f"`kit add {server.package} --name {server.name} --pin '{pins[0]}' --replace`"
    return SmokeTestFailed(
        f"{failure.message}\n{server.name} may have been written for an older version of "
        f"{pins[0].split('<')[0]} than the one locked ({pins[0]} fits what it and its dependencies ask for)",
        hint=f'try the pin "{pins[0]}": add it to pins in {server.where}'
        + (f" (or {readd})" if _readd_keeps_all(server) else "")
        + (f"; other candidates: {', '.join(pins[1:])}" if len(pins) > 1 else ""),
        stderr=failure.stderr,
    )


def _readd_keeps_all(server: Server, rewritten: frozenset[str] = frozenset()) -> bool:
    """Whether `kit add ... --replace` would write the server's table back whole (it is rewritten from the options),
    but for the keys `rewritten`."""
    given = server.declaration.model_fields_set - {
        "package",
        "pins",
        "script",
        "module",
        "function",
        *rewritten,
    }
    return server.package is not None and not given
