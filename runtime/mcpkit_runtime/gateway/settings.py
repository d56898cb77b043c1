"""What a gateway serves and how (the kit reads it from `[gateway]` in mcpkit.toml)."""

from __future__ import annotations

import fnmatch
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mcpkit_runtime.limits import Limits, Rate


def token_variable(server: str) -> str:
    """Where a gateway in a deployment finds the bearer token of the server named `server`."""
    return f"MCP_GATEWAY_TOKEN_{server.upper().replace('-', '_')}"


class GatewaySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    servers: list[str] = Field(default_factory=list, description="Servers behind the gateway (default: all).")
    separator: str = Field(
        "__", min_length=1, description="Between a server's name and its tool's: server__tool."
    )
    start: Literal["eager", "lazy"] = Field(
        "eager", description="Start every server at once, or at first use."
    )
    allow: dict[str, list[str]] = Field(
        default_factory=dict, description="Per server: the tools shown (globs)."
    )
    deny: dict[str, list[str]] = Field(default_factory=dict, description="Per server: tools hidden (globs).")
    rate_limits: dict[str, str] = Field(
        default_factory=dict,
        alias="rate-limits",
        description='Per namespaced tool, or "*": e.g. "60/min:10".',
    )
    session_budget: float | None = Field(
        None, alias="session-budget", description="Calls a client (its session or key) may make."
    )
    session_idle_seconds: float = Field(
        900.0, gt=0, alias="session-idle-seconds",
        description="A client (an HTTP session and its budget and limits) idle this long is closed and forgotten.",
    )  # fmt: skip
    isolation: dict[str, Literal["shared", "per-client"]] = Field(
        default_factory=dict,
        description='Per server: "shared" by every client (the default), or "per-client": an instance each.',
    )
    max_clients: int = Field(
        10_000,
        gt=0,
        alias="max-clients",
        description="Clients whose limits are kept at once (the least recent go).",
    )

    @field_validator("rate_limits")
    @classmethod
    def _rates_parse(cls, value: dict[str, str]) -> dict[str, str]:
        for text in value.values():
            Rate.parse(text)  # a ValueError that says how to write one
        return value

    def rate_for(self, tool: str) -> Rate | None:
        """The rate limiting the namespaced `tool` (its own, or "*")."""
        text = self.rate_limits.get(tool, self.rate_limits.get("*"))
        return Rate.parse(text) if text else None

    def limits(self) -> Limits:
        """The refusal policy's limits at the gateway: per client, across servers, each call costing one."""
        return Limits(
            self.rate_for,
            budget=self.session_budget,
            idle_seconds=self.session_idle_seconds,
            max_clients=self.max_clients,
            rates_kept="per-client",
            where=" at the gateway",
        )

    def shows(self, server: str, tool: str) -> bool:
        """Whether `tool` of `server` is offered: allowed (when the server has an allow list) and not denied."""
        allowed = self.allow.get(server)
        if allowed is not None and not any(fnmatch.fnmatchcase(tool, p) for p in allowed):
            return False
        return not any(fnmatch.fnmatchcase(tool, p) for p in self.deny.get(server, []))
