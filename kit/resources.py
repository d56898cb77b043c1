"""Files the kit ships beside its code: Dockerfile templates and the base-image recipe under images/."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def images_dir() -> Path:
    """images/ of a source checkout (editable install), or its copy inside an installed wheel."""
    for candidate in (_PACKAGE_DIR / "_images", _PACKAGE_DIR.parent / "images"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("the kit's images/ folder is missing from this installation")
