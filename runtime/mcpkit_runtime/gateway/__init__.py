"""A gateway: one MCP endpoint in front of many servers, as their client (see proxy.py)."""

# Before any module of the gateway imports the SDK: the seam loads it with its protocol models built on first use,
# the largest part of the gateway's start (and so of the wait for its first answer).
from mcpkit_runtime import sdk as _sdk  # noqa: F401
