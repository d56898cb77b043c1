"""Database Analyst MCP server."""

# A literal, which hatchling reads for the distribution's version: looking it up in the installed metadata at start
# would import importlib.metadata (email, zipfile, csv ...), tens of milliseconds of every container's first answer.
__version__ = "0.1.0"
