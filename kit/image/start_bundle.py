"""The hook that serves a server's start from its start bundle (mcpkit_runtime/start_bundle.py): a `.pth` file in
the image's venv, which every start of the image's Python (with its site) runs first.

The kit writes it in the build stage of every server image (images/server.Dockerfile), from this module, and
records there the dependencies' bundle: nothing that comes with a server chooses where they go or what the hook
says. It does nothing in an image whose venv has no mcpkit_runtime (a published server's), and costs one failed
open for each bundle the build did not record. Its name sorts first, so the modules other `.pth` files import come
from the bundle too.

The recording imports the runtime's start modules (the mcp SDK, pydantic, anyio) as root in the build stage, as the
stage's compileall already runs the venv's `.pth` files; the image runs them later anyway.
"""

from __future__ import annotations

import shlex

NAME = "00-mcpkit-start-bundle.pth"
# One line, as site runs a .pth's `import` lines; an image without the runtime's module is not an error.
HOOK = 'import sys; exec("try:\\n from mcpkit_runtime.start_bundle import install\\nexcept ImportError:\\n pass\\nelse:\\n install()")'
_WRITE = f"import site, sys; open(site.getsitepackages()[0] + '/{NAME}', 'w').write(sys.argv[1] + chr(10))"


# The dependencies' bundle: recorded where the venv has the runtime; a failed recording leaves the image without it.
DEPENDENCIES_RECORDING = (
    "{ ! /opt/venv/bin/python -c 'import mcpkit_runtime.start_record' 2>/dev/null"
    " || /opt/venv/bin/python -P -m mcpkit_runtime.start_record dependencies"
    " || echo 'note: no start bundle for the dependencies'; }"
)


def build_stage_commands() -> str:
    """The shell commands, for the Dockerfile's build stage, that write the hook with the venv's Python and record
    the dependencies' bundle."""
    return f"/opt/venv/bin/python -c {shlex.quote(_WRITE)} {shlex.quote(HOOK)} && {DEPENDENCIES_RECORDING}"
