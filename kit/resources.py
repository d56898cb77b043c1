"""What the kit works from beside its code: its image recipes (images/), and the servers' runtime.

The recipes ship in the kit's wheel (kit/_images); in a source checkout they are the repository's images/ folder.
The runtime is not the kit's: it is the `mcpkit-runtime` distribution the kit depends on, at the kit's version.
Servers get it as a wheel, made from that distribution: built from its project when it is installed from a
checkout in editable mode, else packed from its installed files.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import json
import zipfile
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse
from urllib.request import url2pathname

from packaging.utils import canonicalize_name

from kit import __version__
from kit.errors import KitError

_PACKAGE_DIR = Path(__file__).resolve().parent
RUNTIME = "mcpkit-runtime"
# What an installer adds to a distribution's metadata: not part of the wheel it was installed from.
_INSTALLER_FILES = {"INSTALLER", "REQUESTED", "RECORD", "direct_url.json"}
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the same files make the same wheel, byte for byte


def images_dir() -> Path:
    for candidate in (_PACKAGE_DIR / "_images", _PACKAGE_DIR.parent / "images"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("the kit's images/ folder is missing from this installation; reinstall mcpkit")


def runtime_distribution() -> importlib.metadata.Distribution:
    try:
        return importlib.metadata.distribution(RUNTIME)
    except importlib.metadata.PackageNotFoundError:
        raise KitError(
            f"{RUNTIME} is not installed beside the kit",
            hint=f"install it at the kit's version: pip install {RUNTIME}=={__version__}",
        ) from None


def runtime_project() -> Path | None:
    """The project folder (with pyproject.toml) of a runtime installed in editable mode, as `make setup` does."""
    direct_url = runtime_distribution().read_text("direct_url.json")
    if not direct_url:
        return None
    origin = json.loads(direct_url)
    if not origin.get("dir_info", {}).get("editable"):
        return None
    return Path(url2pathname(urlparse(origin["url"]).path))


def runtime_source_dir() -> Path:
    """The runtime's files, hashed to tell when server images must be rebuilt: its project, or its installed
    package folder."""
    return runtime_project() or Path(str(runtime_distribution().locate_file("mcpkit_runtime")))


def pack_installed_runtime(destination: Path) -> Path:
    """The installed runtime as a wheel: the files and metadata its installer wrote from the wheel it was given
    (compiled files and the installer's own records left out), with a RECORD of their hashes."""
    dist = runtime_distribution()
    files = sorted(
        PurePosixPath(str(f))
        for f in dist.files or []
        if not f.parts[0].startswith("..")
        and "__pycache__" not in f.parts
        and not (f.parts[0].endswith(".dist-info") and f.name in _INSTALLER_FILES)
    )
    info = next(f.parts[0] for f in files if f.parts[0].endswith(".dist-info"))
    tags = [line.split(":", 1)[1].strip() for line in (dist.read_text("WHEEL") or "").splitlines()
            if line.startswith("Tag:")]  # fmt: skip
    name = canonicalize_name(dist.metadata["Name"]).replace("-", "_")
    wheel = destination / f"{name}-{dist.version}-{tags[0] if tags else 'py3-none-any'}.whl"
    records = []
    destination.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in files:
            data = Path(str(dist.locate_file(str(file)))).read_bytes()
            _add(archive, str(file), data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            records.append(f"{file},sha256={digest},{len(data)}")
        _add(archive, f"{info}/RECORD", "".join(f"{r}\n" for r in [*records, f"{info}/RECORD,,"]).encode())
    return wheel


def _add(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    entry = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    entry.compress_type = zipfile.ZIP_DEFLATED
    entry.external_attr = 0o644 << 16
    archive.writestr(entry, data)
