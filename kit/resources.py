"""Files the kit ships beside its code: image recipes (images/) and the runtime's source (runtime/).

In a source checkout (an editable install) they are the repository's own folders; an installed wheel holds copies
under kit/_images and kit/_runtime.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def _shipped(installed: str, checkout: str) -> Path:
    for candidate in (_PACKAGE_DIR / installed, _PACKAGE_DIR.parent / checkout):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"the kit's {checkout}/ folder is missing from this installation; reinstall mcpkit"
    )


def images_dir() -> Path:
    return _shipped("_images", "images")


def runtime_source_dir() -> Path:
    """The mcpkit-runtime project (pyproject.toml and package), which the kit builds into a wheel for servers."""
    return _shipped("_runtime", "runtime")
