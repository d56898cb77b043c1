"""The hook that serves a server's start from its start bundle (mcpkit_runtime/start_bundle.py): a `.pth` file in
the image's venv, which every start of the image's Python (with its site) runs first.

The kit writes it in the build stage of every server image (images/server.Dockerfile), from this module: nothing
that comes with a server chooses where it goes or what it says. It does nothing in an image whose venv has no
mcpkit_runtime (a published server's), and costs one failed open where the code step recorded no bundle. Its name
sorts first, so the modules other `.pth` files import come from the bundle too.
"""

from __future__ import annotations

import shlex

NAME = "00-mcpkit-start-bundle.pth"
# One line, as site runs a .pth's `import` lines; an image without the runtime's module is not an error.
HOOK = 'import sys; exec("try:\\n from mcpkit_runtime.start_bundle import install\\nexcept ImportError:\\n pass\\nelse:\\n install()")'
_WRITE = f"import site, sys; open(site.getsitepackages()[0] + '/{NAME}', 'w').write(sys.argv[1] + chr(10))"


def write_command() -> str:
    """The shell command, for the Dockerfile's build stage, that writes the hook with the venv's Python."""
    return f"/opt/venv/bin/python -c {shlex.quote(_WRITE)} {shlex.quote(HOOK)}"
