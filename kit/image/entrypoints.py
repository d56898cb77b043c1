"""How a server starts: found in its own wheel when it does not say (a console script, or a package with a
__main__), and checked against the wheels before any image is built."""

from __future__ import annotations

from pathlib import Path

from packaging.utils import canonicalize_name

from kit.errors import KitError
from kit.image.wheelhouse import Runnables, runnables
from kit.project.servers import Server, ServerDeclaration


def discover_start(distribution: str, own_wheel: Path) -> dict[str, str]:
    """{"script": NAME} or {"module": NAME}: what the distribution's own wheel offers to start it."""
    found = runnables([own_wheel])
    wanted = canonicalize_name(distribution)
    scripts = sorted(found.scripts)
    if len(scripts) > 1:
        scripts = [s for s in scripts if canonicalize_name(s) == wanted] or scripts
    if len(scripts) == 1:
        return {"script": scripts[0]}
    if not scripts and len(found.main_packages) == 1:
        return {"module": next(iter(found.main_packages))}
    raise KitError(
        f"cannot tell how to start {distribution}: it offers {found.describe()}",
        hint="name one: --script NAME, --module MODULE or --function MODULE:FUNCTION",
    )


def check_start(server: Server, declaration: ServerDeclaration, found: Runnables) -> None:
    """The declared start must exist in the server's wheels: a typo costs seconds here, not a build and a smoke test."""
    if declaration.script and declaration.script not in found.scripts:
        missing = f"no console script {declaration.script!r}"
    elif declaration.module and declaration.module not in found.modules:
        missing = f"`python -m {declaration.module}` cannot start: no module {declaration.module!r}"
    elif declaration.function and declaration.function.split(":")[0] not in found.importable:
        missing = f"no module {declaration.function.split(':')[0]!r} for {declaration.function}"
    else:
        return
    raise KitError(
        f"{server.name}: {missing} in the server or its dependencies (what they can start: {found.describe()})",
        hint=f"fix module, script or function in {server.where}",
    )
