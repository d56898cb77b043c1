"""Why a server that built fails to start, when the reason is a dependency's major version.

The common case: a server written for the 1.x MCP SDK, whose requirement (`mcp>=1.6`) lets the resolver pick 2.x.
A dependency the server allows from an older major version than the one locked is the suspect; one named in the
error (a module in the traceback, an import that failed) comes first.
"""

from __future__ import annotations

import re

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from kit.image.wheelhouse import WheelInfo
from kit.project.locks import Lock

_MENTION = re.compile(
    r"site-packages/(?P<frame>[A-Za-z_]\w*)|No module named '(?P<missing>[\w.]+)'|from '(?P<source>[\w.]+)'"
    r"|module '(?P<module>[\w.]+)' has no attribute"
)


def suggest_pins(stderr: str, server: WheelInfo, wheels: list[WheelInfo], lock: Lock) -> list[str]:
    """Pins to try (e.g. "mcp<2"), most likely first; none when no dependency fits the pattern."""
    mentioned = _mentioned_distributions(stderr, server, wheels)
    candidates = []
    for text in server.requires:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue
        if requirement.marker is not None and "extra" in str(requirement.marker):
            continue
        name = canonicalize_name(requirement.name)
        locked = lock.version_of(name)
        major = _major(locked) if locked else None
        oldest = _oldest_major_allowed(requirement)
        # Without a lower bound any old major would do: only a dependency the error names is suspect then.
        if major is not None and major > (
            oldest if oldest is not None else (0 if name in mentioned else major)
        ):
            candidates.append((name not in mentioned, f"{requirement.name}<{major}"))
    return [pin for _, pin in sorted(candidates)]


def _mentioned_distributions(stderr: str, server: WheelInfo, wheels: list[WheelInfo]) -> set[str]:
    tops = {top: canonicalize_name(w.name) for w in wheels for top in w.top_levels}
    mentioned: set[str] = set()
    for match in _MENTION.finditer(stderr):
        module = next(group for group in match.groups() if group)
        top = module.split(".", 1)[0]
        if top in tops and top not in server.top_levels:
            mentioned.add(tops[top])
    return mentioned


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
