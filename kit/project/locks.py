"""Lock files, one per server, kept in the project under locks/: every package the server's image installs, pinned
with its hash, so a build installs exactly what was locked. Resolution itself is the wheelhouse's job.

A package the kit builds from source (the runtime, a server's local packages) is locked by version; its wheel's
hash is taken at build time from the wheel built then, since wheel bytes depend on the build backend's version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import canonicalize_name

from kit import files

LOCKS_DIR = "locks"
_LINE = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)"
    r"(?:\s+--hash=sha256:(?P<sha256>[0-9a-f]{64}))?"
    r"\s*(?:#\s*(?:local:\s*(?P<local>\S+)|(?P<filename>\S+\.whl)))?\s*$"
)


@dataclass(frozen=True)
class LockedPackage:
    name: str
    version: str
    sha256: str | None = None  # None for a local package
    filename: str | None = None  # the wheel's file name on the index
    local: str | None = None  # a local package: the distribution the kit builds from source

    def line(self) -> str:
        if self.local is not None:
            return f"{self.name}=={self.version}  # local: {self.local}"
        return f"{self.name}=={self.version} --hash=sha256:{self.sha256}  # {self.filename}"


@dataclass(frozen=True)
class Lock:
    server: str
    target: str  # the interpreter and platform it was resolved for
    fingerprint: str  # of everything the resolution depended on: stale when it changes
    packages: list[LockedPackage] = field(default_factory=list)

    def package_of(self, distribution: str) -> LockedPackage | None:
        wanted = canonicalize_name(distribution)
        return next((p for p in self.packages if canonicalize_name(p.name) == wanted), None)

    def version_of(self, distribution: str) -> str | None:
        package = self.package_of(distribution)
        return package.version if package else None

    def text(self) -> str:
        header = [
            f'# mcpkit lock of the server "{self.server}": every package its image installs, with hashes.',
            f"# Written by `kit lock` and `kit build`; do not edit. `kit lock {self.server} --upgrade` resolves anew.",
            f"# target: {self.target}",
            f"# fingerprint: {self.fingerprint}",
        ]
        return "\n".join([*header, *(p.line() for p in self.packages)]) + "\n"

    def requirements(self, local_hashes: dict[str, str]) -> str:
        """What the image build installs with --require-hashes: local packages with the hash of their wheel."""
        lines = []
        for package in self.packages:
            sha256 = local_hashes[package.local] if package.local is not None else package.sha256
            lines.append(f"{package.name}=={package.version} --hash=sha256:{sha256}\n")
        return "".join(lines)


def lock_path(project_dir: Path, server: str) -> Path:
    return project_dir / LOCKS_DIR / f"{server}.lock"


def read(path: Path) -> Lock | None:
    """The lock at `path`; None when there is none, or when it is damaged (it is then resolved again)."""
    if not path.is_file():
        return None
    header: dict[str, str] = {}
    packages = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            key, sep, value = line.lstrip("# ").partition(": ")
            if sep and key in ("target", "fingerprint"):
                header[key] = value.strip()
            continue
        match = _LINE.match(line)
        if match is None or (match["local"] is None and not (match["sha256"] and match["filename"])):
            return None
        packages.append(LockedPackage(**{k: v for k, v in match.groupdict().items() if v is not None}))
    if "fingerprint" not in header:
        return None
    return Lock(path.stem, header.get("target", ""), header["fingerprint"], packages)


def write(path: Path, lock: Lock) -> None:
    files.write_atomically(path, lock.text())
