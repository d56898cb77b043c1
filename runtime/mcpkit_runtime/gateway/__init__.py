"""A gateway: one MCP endpoint in front of many servers, as their client (see proxy.py)."""
