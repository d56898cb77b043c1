"""mcpkit: one hardened container per MCP server, wired into the clients people use."""

__version__ = "0.1.0"
