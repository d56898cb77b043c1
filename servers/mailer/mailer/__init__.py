"""Mailer MCP server."""

# A literal, which hatchling reads for the distribution's version (analyst/__init__.py says why).
__version__ = "0.1.0"
