"""What of a server's folder goes into its image: its package, and nothing a developer keeps beside it.

Secrets (`.env`, keys), version control, virtual environments, caches and the server's tests stay out, as does
whatever the folder's `.dockerignore` or `.mcpkitignore` names (gitignore patterns). A symbolic link that leads out
of the folder is refused: it would copy a file from anywhere on the host into the image.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pathspec

from kit.errors import KitError

IGNORE_FILES = (".dockerignore", ".mcpkitignore")
# gitignore patterns every server folder gets.
DEFAULT_IGNORED = [
    ".git/", ".hg/", ".svn/", "__pycache__/", "*.py[cod]", ".venv/", "venv/", "env/", "build/", "dist/",
    "*.egg-info/", ".pytest_cache/", ".mypy_cache/", ".ruff_cache/", ".tox/", ".nox/", ".coverage", "htmlcov/",
    ".DS_Store", ".idea/", ".vscode/",
    # secrets people keep in a project folder
    ".env", ".env.*", "*.env", ".envrc", ".netrc", ".pypirc", ".npmrc", ".aws/", ".ssh/", ".docker/", ".gnupg/",
    "id_rsa*", "id_dsa*", "id_ecdsa*", "id_ed25519*", "*.pem", "*.key", "*.p12", "*.pfx", "*.jks", "*.keystore",
    "credentials.json", "secrets.*", "*.secret",
    # beside the server but not in its image: its tests, the schema lock `kit build` checks the image against
    "/tests/", "/mcp-schema.lock.json", *IGNORE_FILES,
]  # fmt: skip


def source_files(folder: Path) -> list[Path]:
    """The folder's files that go into its image, in a stable order; a link out of the folder is an error."""
    root = folder.resolve()
    spec = pathspec.GitIgnoreSpec.from_lines([*DEFAULT_IGNORED, *_ignore_lines(folder)])
    files = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if spec.match_file(relative + ("/" if path.is_dir() and not path.is_symlink() else "")):
            continue
        if any(spec.match_file(parent + "/") for parent in _parents(relative)):
            continue
        if path.is_symlink() and not path.resolve().is_relative_to(root):
            raise KitError(
                f"{path} is a link to {path.resolve()}, outside the server's folder",
                hint="copy what it points to into the folder, or list it in .mcpkitignore",
            )
        if path.is_file():
            files.append(path)
    return files


def copy_sources(folder: Path, destination: Path) -> Path:
    """The folder's image files, copied (links followed inside it) into `destination`, which a build then reads."""
    for file in source_files(folder):
        target = destination / file.relative_to(folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(file, target)
    return destination


def source_hash(folder: Path) -> str:
    """A sha256 over the image files' names and contents: changes when anything that goes into the image does."""
    digest = hashlib.sha256()
    for file in source_files(folder):
        digest.update(file.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def _ignore_lines(folder: Path) -> list[str]:
    lines = []
    for name in IGNORE_FILES:
        path = folder / name
        if path.is_file() and not path.is_symlink():
            lines += path.read_text(encoding="utf-8", errors="replace").splitlines()
    return lines


def _parents(relative: str) -> list[str]:
    parts = relative.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]
