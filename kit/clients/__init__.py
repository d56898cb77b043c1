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
    client.name: client
    for client in (
        claude_desktop.CLIENT, claude_code.CLIENT, cursor.CLIENT, vscode.CLIENT, vscode.INSIDERS, windsurf.CLIENT,
        zed.CLIENT, codex.CLIENT, gemini.CLIENT, goose.CLIENT, continue_dev.CLIENT, lmstudio.CLIENT, cline.CLIENT,
        opencode.CLIENT, kiro.CLIENT,
    )
}  # fmt: skip
