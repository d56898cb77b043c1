"""One module per LLM client config format; `CLIENTS` maps the --client name to it."""

from kit.clients import claude_desktop
from kit.clients.common import ClientFormat

CLIENTS: dict[str, ClientFormat] = {claude_desktop.FORMAT.name: claude_desktop.FORMAT}
