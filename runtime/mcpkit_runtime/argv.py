"""A server's arguments that name variables, `${NAME}`, filled in inside its container at start, then the server
started in this process's place. So a secret a server reads from its command line (a database URL) is passed by
name, `docker run -e NAME`, and its value is in no file, no image and no `docker inspect` Args or Cmd.

Run as a file (`python -I -S /opt/mcpkit/argv.py COMMAND ARGS...`): it needs only the standard library, so it
works in any image with a Python, whatever the server installed. Only the exact `${NAME}` form is expanded, NAME a
variable name (letters, digits and underscores, not starting with a digit); `$${NAME}` stands for a literal
`${NAME}`; everything else is left as written. A named variable that is unset or empty stops the start with a
message naming it (never a value) and exit code 78 (EX_CONFIG).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping

REFERENCE = re.compile(r"\$(\$?)\{([A-Za-z_][A-Za-z0-9_]{0,127})\}")
EXIT_MISSING = 78
IN_IMAGE = "/opt/mcpkit/argv.py"  # where the kit's builder puts this file


class MissingVariable(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def names(args: list[str]) -> list[str]:
    """The variables the arguments name, each once, in order; escaped ones (`$${NAME}`) are not."""
    found = [m.group(2) for arg in args for m in REFERENCE.finditer(arg) if not m.group(1)]
    return list(dict.fromkeys(found))


def expand(args: list[str], environ: Mapping[str, str]) -> list[str]:
    def value(match: re.Match[str]) -> str:
        if match.group(1):
            return match.group(0)[1:]
        found = environ.get(match.group(2))
        if not found:
            raise MissingVariable(match.group(2))
        return found

    return [REFERENCE.sub(value, arg) for arg in args]


def main(argv: list[str] | None = None) -> None:
    command = list(sys.argv[1:] if argv is None else argv)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        sys.stderr.write("mcpkit: no command to start\n")
        sys.exit(2)
    try:
        expanded = expand(command, os.environ)
    except MissingVariable as missing:
        sys.stderr.write(
            f"mcpkit: the server's arguments name ${{{missing.name}}}, but {missing.name} is not set (or empty) "
            f"in its container. Give it a value in the client entry's env block, or store it with "
            f"`kit secret set {missing.name}` and run `kit config` again.\n"
        )
        sys.exit(EXIT_MISSING)
    try:
        os.execvp(expanded[0], expanded)
    except OSError as exc:
        sys.stderr.write(f"mcpkit: cannot start {expanded[0]}: {exc.strerror}\n")
        sys.exit(127)


if __name__ == "__main__":
    main()
