"""`kit init` and `kit new`: a project anywhere, and a server folder that builds and answers without any edit."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kit.errors import KitError
from kit.identity import project_slug
from kit.project.manifest import MANIFEST_NAME
from kit.project.servers import SERVER_NAME
from kit.project.settings import Settings

TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class Created:
    root: Path
    files: list[Path]


def init_project(directory: Path) -> Created:
    """mcpkit.toml, servers/ and a .gitignore in `directory` (created if needed); an existing project is refused."""
    root = directory.resolve()
    if root.exists() and not root.is_dir():
        raise KitError(
            f"{root} exists and is not a folder", hint="pass a new or existing folder: `kit init DIR`"
        )
    if (root / MANIFEST_NAME).exists():
        raise KitError(
            f"{root} is already an mcpkit project ({MANIFEST_NAME} exists)",
            hint="`kit new NAME` adds a server",
        )
    files = [
        _write(root / MANIFEST_NAME, _read("project/mcpkit.toml")),
        _write(root / "servers" / ".gitkeep", ""),
    ]
    if not (root / ".gitignore").exists():
        files.append(_write(root / ".gitignore", _read("project/gitignore")))
    return Created(root, files)


def new_server(settings: Settings, name: str) -> Created:
    """servers/NAME: a pyproject with its [tool.mcpkit] table, a server on the runtime, its test, a README."""
    if not SERVER_NAME.match(name):
        raise KitError(
            f"invalid server name {name!r}",
            hint="use lowercase letters, digits and dashes, starting with a letter (e.g. weather or crm-search)",
        )
    if not (settings.project_dir / MANIFEST_NAME).is_file() and not settings.servers_path.is_dir():
        raise KitError(
            f"{settings.project_dir} is not an mcpkit project",
            hint="create one with `kit init`, or cd into one",
        )
    folder = settings.servers_path / name
    if folder.exists():
        raise KitError(f"{folder} already exists", hint="pick another name, or remove the folder")
    package = name.replace("-", "_")
    values = {
        "name": name,
        "package": package,
        "image": f"{settings.image_prefix}/{project_slug(settings.project_dir)}/{name}:0.1.0",
    }
    files = []
    for template in sorted((TEMPLATES / "server").rglob("*.tmpl")):
        relative = template.relative_to(TEMPLATES / "server").with_suffix("")
        parts = [package if part == "package" else part for part in relative.parts]
        files.append(_write(folder.joinpath(*parts), _render(template.read_text(encoding="utf-8"), values)))
    return Created(folder, files)


def _render(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    return text


def _read(relative: str) -> str:
    return (TEMPLATES / relative).read_text(encoding="utf-8")


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
