"""Mailer MCP server."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mcpkit-mailer")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0.0.0"
