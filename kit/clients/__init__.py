"""One module per LLM client: where its config file is, in which format, and how an entry looks there.
`CLIENTS` maps the --client name to it."""

from kit.clients import (
    claude_code,
    claude_desktop,
    cline,
    codex,
    continue_dev,
    cursor,
    gemini,
    goose,
    kiro,
    lmstudio,
    opencode,
    vscode,
    windsurf,
    zed,
)
from kit.clients.common import Client

CLIENTS: dict[str, Client] = {
    module.CLIENT.name: module.CLIENT
    for module in (
        claude_desktop, claude_code, cursor, vscode, windsurf, zed, codex, gemini, goose, continue_dev, lmstudio,
        cline, opencode, kiro,
    )
}  # fmt: skip
