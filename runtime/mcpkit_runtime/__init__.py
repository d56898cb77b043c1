"""The production runtime of mcpkit servers. Import cost matters: it runs at every container start."""

__version__ = "0.1.0"
