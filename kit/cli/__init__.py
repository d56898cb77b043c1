"""The `kit` command line: each command parses, calls one core function, renders its result.

Commands live in modules by what they are about; importing a module registers its commands on `app`, in the
order `kit --help` lists them: the project, images, clients, then running servers. The command modules import
the kit's core (and through it the MCP SDK, the Docker SDK, the SBOM library) only when a command runs.
"""
# isort: skip_file

from kit.cli.app import app
from kit.cli import project, image, clients, gateway, deploy, operate, secret

__all__ = ["app", "clients", "deploy", "gateway", "image", "operate", "project", "secret"]
