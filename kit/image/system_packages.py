"""System packages a server declares (`system-packages = ["git"]`): Debian packages resolved and downloaded on the
host, never with a network in a container.

apt-get runs on the host with a state of its own: the base image's dpkg status file (read from the image) as what is
installed, the base's own Debian suite and architecture, and the kit's Debian mirror. So it downloads exactly what
the base lacks, as .deb files, cached per base and set of packages. The image's build stage unpacks them
(images/system-packages.sh) and the final stage copies the result in one layer.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import docker
from docker.errors import APIError, ContainerError, ImageNotFound

from kit.errors import KitError
from kit.project.settings import Settings
from kit.reporting import Reporter
from kit.resources import images_dir

INSTALLER = "system-packages.sh"
_KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
_PROBE = '. /etc/os-release; echo "$VERSION_CODENAME"; dpkg --print-architecture'


@dataclass(frozen=True)
class DebianBase:
    """What apt on the host needs to know of a base image."""

    suite: str
    architecture: str
    status: Path  # a copy of the image's /var/lib/dpkg/status


def base_of(client: docker.DockerClient, image: str, cache_dir: Path) -> DebianBase:
    """The base's Debian suite, architecture and dpkg status, read once per image id."""
    image_id = str(client.images.get(image).id).removeprefix("sha256:")
    folder = cache_dir / "system" / "bases" / image_id[:24]
    facts = folder / "base.json"
    if facts.is_file():
        return DebianBase(**{**json.loads(facts.read_text(encoding="utf-8")), "status": folder / "status"})
    try:
        output = client.containers.run(image, ["sh", "-c", _PROBE], network_mode="none", remove=True)
        suite, architecture = output.decode().split()
    except (ImageNotFound, ContainerError, ValueError) as exc:
        raise KitError(
            f"base image {image} is not a Debian image apt can serve (no /etc/os-release codename or no dpkg): {exc}",
            hint="system-packages needs a Debian-based base: `kit base`, or KIT_BASE_IMAGE=python:3.12-slim",
        ) from None
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "status").write_bytes(_read_file(client, image, "/var/lib/dpkg/status"))
    found = DebianBase(suite, architecture, folder / "status")
    facts.write_text(json.dumps({k: v for k, v in asdict(found).items() if k != "status"}), encoding="utf-8")
    return found


def into_context(
    client: docker.DockerClient,
    settings: Settings,
    packages: list[str],
    destination: Path,
    reporter: Reporter,
) -> None:
    """The .deb files the base image lacks for `packages`, and the installer, in a build context's folder."""
    folder, debs = download(
        settings, base_of(client, settings.base_image, settings.cache_dir), packages, reporter
    )
    destination.mkdir()
    for name in [*debs, INSTALLER]:
        try:
            os.link(folder / name, destination / name)
        except OSError:  # the cache and the context may sit on different filesystems
            shutil.copy2(folder / name, destination / name)
    reporter.step(
        f"system packages: {len(debs)} Debian packages the base lacks ({', '.join(packages)} and theirs)"
    )


def download(
    settings: Settings, base: DebianBase, packages: list[str], reporter: Reporter
) -> tuple[Path, list[str]]:
    """A folder of the .deb files the base lacks for `packages` (with their dependencies), and their names;
    cached per base, mirror and set of packages."""
    wanted = sorted(set(packages))
    key = hashlib.sha256(
        "\0".join(
            [base.suite, base.architecture, settings.debian_mirror, _digest(base.status), *wanted]
        ).encode()
    ).hexdigest()[:16]
    folder = settings.cache_dir / "system" / "debs" / key
    if (folder / "complete").is_file():
        return folder, (folder / "complete").read_text(encoding="utf-8").split()
    apt = _AptRoot(
        settings.cache_dir / "system" / "apt" / f"{base.suite}-{base.architecture}", base, settings
    )
    reporter.step(
        f"system packages {', '.join(wanted)}: resolving against the base's {base.suite} (apt, host)"
    )
    with (apt.root / "lock").open("w") as lock, tempfile.TemporaryDirectory(dir=apt.root) as scratch:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a fleet's parallel builds share the package lists
        apt.run(["update"], reporter, "updating the package lists of " + base.suite)
        (Path(scratch) / "partial").mkdir()
        apt.run(
            ["install", "--download-only", "--yes", "-o", f"Dir::Cache::archives={scratch}", *wanted],
            reporter, f"downloading {', '.join(wanted)}",
        )  # fmt: skip
        debs = sorted(p.name for p in Path(scratch).glob("*.deb"))
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for name in debs:
            (Path(scratch) / name).rename(folder / name)
    shutil.copyfile(images_dir() / INSTALLER, folder / INSTALLER)
    (folder / "complete").write_text("\n".join(debs) + "\n", encoding="utf-8")
    return folder, debs


class _AptRoot:
    """apt-get with its own lists, cache and sources; the base's status as what is installed; the host's keys."""

    def __init__(self, root: Path, base: DebianBase, settings: Settings) -> None:
        self.root = root
        for sub in ("lists/partial", "cache", "parts", "sources.list.d", "preferences.d"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        signed = f" [signed-by={_KEYRING}]" if _KEYRING.is_file() else ""
        (root / "sources.list").write_text(f"deb{signed} {settings.debian_mirror} {base.suite} main\n")
        self.options = {
            "Dir::State": str(root),
            "Dir::State::Lists": str(root / "lists"),
            "Dir::State::status": str(base.status),
            "Dir::Cache": str(root / "cache"),
            "Dir::Etc::sourcelist": str(root / "sources.list"),
            "Dir::Etc::sourceparts": str(root / "sources.list.d"),
            "Dir::Etc::preferencesparts": str(root / "preferences.d"),
            # The host's apt.conf.d may hold hooks that clean its own cache: none of them applies here.
            "Dir::Etc::parts": str(root / "parts"),
            "APT::Architecture": base.architecture,
            "APT::Architectures": base.architecture,
            "APT::Install-Recommends": "false",
            "Acquire::Languages": "none",
            "Debug::NoLocking": "true",
        }

    def run(self, arguments: list[str], reporter: Reporter, doing: str) -> None:
        if shutil.which("apt-get") is None:
            raise KitError(
                "system-packages are downloaded on the host with apt-get, which is not installed here",
                hint="run the kit on a Debian or Ubuntu host, or build a base image that has them",
            )
        command = ["apt-get", "--quiet"]
        for name, value in self.options.items():
            command += ["-o", f"{name}={value}"]
        result = subprocess.run([*command, *arguments], capture_output=True, text=True, check=False)
        for line in result.stdout.splitlines():
            reporter.detail(line)
        if result.returncode != 0:
            raise _apt_error(doing, result.stderr or result.stdout)


def _apt_error(doing: str, output: str) -> KitError:
    errors = [line for line in output.splitlines() if line.startswith("E:")] or output.splitlines()[-5:]
    text = "\n".join(errors)
    if "Unable to locate package" in text or "has no installation candidate" in text:
        hint = "check the name on https://packages.debian.org for the base's Debian release"
    elif "unmet dependencies" in text.lower():
        hint = "a package wants versions the base does not have; a base of the package's own release takes it"
    else:
        hint = "check that the Debian mirror is reachable from this host (KIT_DEBIAN_MIRROR)"
    return KitError(f"apt-get failed {doing}:\n{text}", hint=hint)


def _read_file(client: docker.DockerClient, image: str, path: str) -> bytes:
    container = client.containers.create(image, ["true"], network_disabled=True)
    try:
        stream, _ = container.get_archive(path)
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
            member = archive.extractfile(Path(path).name)
            if member is None:
                raise KitError(f"{path} in {image} is not a file")
            return member.read()
    except APIError as exc:
        raise KitError(
            f"base image {image} has no {path} (a trimmed base must keep dpkg's status file): {exc.explanation}",
            hint="rebuild the base with `kit base --force`, or use a standard Debian-based Python image",
        ) from None
    finally:
        container.remove(force=True)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
