"""A gateway: one MCP endpoint in front of many servers, as their client (see proxy.py).

Each module here that imports the SDK imports mcpkit_runtime.sdk first (the seam loads the SDK with its protocol
models built on first use, the largest part of the gateway's start); the package itself does not, so the kit plans
a gateway (plan.py, settings.py) without loading the SDK at all. Imported before the seam, the package also tells it
that this process serves a low-level Server only: the SDK loads without MCPServer and the cryptography it brings.
"""
