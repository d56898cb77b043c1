"""The gateway: one MCP endpoint in front of the project's servers, which it starts and speaks to as their client."""
