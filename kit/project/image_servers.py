"""Servers that already come as an image (`[servers.NAME] image = "REF"`): run as they are, inside the same walls
and with the same client entries, gateway and checks as the images the kit builds; never built, never pulled.

The reference and the command come from a project file someone else may have written, so both have a strict
grammar: neither can become a `docker run` option.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator

from kit import walls
from kit.errors import KitError
from kit.project import manifest
from kit.project.servers import SERVER_NAME, SERVER_NAME_RULE, Server, ServerDeclaration, _validated
from mcpkit_runtime import argv

# What only a build can do: a prebuilt image is run as it is.
_BUILD_ONLY = (
    "module", "script", "function", "pins", "python", "build_network", "image_env", "system_packages",
    "build_commands", "data_dirs", "files", "local_packages",
)  # fmt: skip


class ImageDeclaration(ServerDeclaration):
    """A prebuilt image's server: [servers.NAME] with `image`, in mcpkit.toml."""

    image: str = Field(description="The image, as on this machine: mcp/git:1.0 (checked, never pulled).")
    command: list[str] = Field(
        default_factory=list,
        description="Replaces the image's own start command (its ENTRYPOINT and CMD); args follow it.",
    )

    @field_validator("image")
    @classmethod
    def _valid_image(cls, image: str) -> str:
        return walls.image_reference(image)

    @field_validator("command")
    @classmethod
    def _valid_command(cls, command: list[str]) -> list[str]:
        if command:
            walls.command_word(command[0])
        return command

    @model_validator(mode="after")
    def _as_it_is(self) -> ImageDeclaration:
        given = sorted(self.model_fields_set & set(_BUILD_ONLY))
        if given:
            keys = ", ".join(type(self).model_fields[key].alias or key for key in given)
            raise ValueError(
                f"{keys}: not for a prebuilt image, which is run as it is (only a build uses them)"
            )
        if any(argv.REFERENCE.search(word) for word in [*self.command, *self.args]):
            raise ValueError(
                "${NAME} in the arguments of a prebuilt image: it is filled in at start by the kit's expander, "
                "which only images the kit builds have; pass the value as a variable the server reads itself "
                '(secrets = ["NAME"]), or build the server with the kit'
            )
        return self


def load_image_server(project_dir: Path, name: str, table: dict[str, Any]) -> Server:
    where = f"[servers.{name}] in {project_dir / manifest.MANIFEST_NAME}"
    if not SERVER_NAME.match(name):
        raise KitError(f"invalid server name {name!r} ({where})", hint=f"use {SERVER_NAME_RULE}")
    if "package" in table:
        raise KitError(
            f"{where} names both a package and an image",
            hint="keep one: package to build it, image to run one",
        )
    declaration: ImageDeclaration = _validated(ImageDeclaration, table, where)
    match = walls.IMAGE_REFERENCE.fullmatch(declaration.image)
    tag = match.group("tag") if match else None
    digest = match.group("digest") if match else None
    return Server(
        name=name,
        version=tag or (digest[7:19] if digest else "latest"),
        project_dir=project_dir,
        image=declaration.image,
        distribution=name,
        declaration=declaration,
    )


def default_name(image: str) -> str:
    """mcp/git:1.0 -> git: the last part of the image's path, when it is a valid server name."""
    last = walls.image_reference(image).split("@")[0].rsplit("/", 1)[-1].split(":")[0]
    trimmed = last.removeprefix("mcp-server-").removeprefix("mcp-").removesuffix("-mcp")
    for candidate in (trimmed, last.replace("_", "-").replace(".", "-")):
        if SERVER_NAME.match(candidate):
            return candidate
    raise KitError(f"cannot make a server name of {image!r}", hint="give one: kit add --image REF NAME")
