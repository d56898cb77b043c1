"""Runtime settings: defaults the server chooses in code, overridden from the environment without code changes.

MCP_RATE_LIMITS     tool=RATE[,tool=RATE...]  e.g. send_email=5/min:5,*=60/min   (* is every other tool)
MCP_TOOL_COSTS      tool=COST[,...]           e.g. profile_table=10
MCP_SESSION_BUDGET  total cost a session (a client: see mcpkit_runtime.clients) may spend, e.g. 200 (unset: unlimited)
MCP_SESSION_IDLE_SECONDS  an HTTP session, and a client's budget, ends after this long without a request (900)
MCP_AUDIT_FILE      also append audit lines to this file (e.g. on a mounted volume)
MCP_MAX_ARGUMENT_BYTES  largest tool arguments accepted, as JSON (default 1 MiB)
MCP_MAX_MESSAGE_BYTES   largest protocol message read from stdin (default 4 MiB; see mcpkit_runtime.stdio)
MCP_JOB_CONCURRENCY, MCP_JOB_TTL_SECONDS, MCP_JOB_MAX   bounds of the long-running job store
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from mcpkit_runtime.limits import Limits, Rate


@dataclass(frozen=True)
class RuntimeConfig:
    rate_limits: dict[str, Rate] = field(default_factory=dict)  # "*" applies to tools without their own
    costs: dict[str, float] = field(default_factory=dict)
    session_budget: float | None = None
    session_idle_seconds: float = 900.0
    audit_file: Path | None = None
    hidden_arguments: frozenset[str] = frozenset()  # never logged, whatever their name (e.g. an email body)
    job_concurrency: int = 2
    job_ttl_seconds: float = 3600.0
    job_max: int = 100
    max_argument_bytes: int = 1024 * 1024

    def rate_for(self, tool: str) -> Rate | None:
        return self.rate_limits.get(tool, self.rate_limits.get("*"))

    def cost_of(self, tool: str) -> float:
        return self.costs.get(tool, 1.0)

    def limits(self) -> Limits:
        """The refusal policy's limits in a server: budgets per client, rates per tool across its clients."""
        return Limits(self.rate_for, self.cost_of, self.session_budget, self.session_idle_seconds)

    def with_environment(self, environ: Mapping[str, str] | None = None) -> RuntimeConfig:
        env = os.environ if environ is None else environ
        config = self
        if env.get("MCP_RATE_LIMITS"):
            limits = {k: Rate.parse(v) for k, v in pairs(env["MCP_RATE_LIMITS"], "MCP_RATE_LIMITS").items()}
            config = replace(config, rate_limits={**config.rate_limits, **limits})
        if env.get("MCP_TOOL_COSTS"):
            costs = {
                k: _number(v, "MCP_TOOL_COSTS")
                for k, v in pairs(env["MCP_TOOL_COSTS"], "MCP_TOOL_COSTS").items()
            }
            config = replace(config, costs={**config.costs, **costs})
        if env.get("MCP_SESSION_BUDGET"):
            config = replace(config, session_budget=_number(env["MCP_SESSION_BUDGET"], "MCP_SESSION_BUDGET"))
        if env.get("MCP_SESSION_IDLE_SECONDS"):
            config = replace(config, session_idle_seconds=idle_seconds(env))
        if env.get("MCP_AUDIT_FILE"):
            config = replace(config, audit_file=Path(env["MCP_AUDIT_FILE"]))
        if env.get("MCP_MAX_ARGUMENT_BYTES"):
            config = replace(
                config,
                max_argument_bytes=int(_number(env["MCP_MAX_ARGUMENT_BYTES"], "MCP_MAX_ARGUMENT_BYTES")),
            )
        if env.get("MCP_JOB_CONCURRENCY"):
            config = replace(
                config, job_concurrency=int(_number(env["MCP_JOB_CONCURRENCY"], "MCP_JOB_CONCURRENCY"))
            )
        if env.get("MCP_JOB_MAX"):
            config = replace(config, job_max=int(_number(env["MCP_JOB_MAX"], "MCP_JOB_MAX")))
        if env.get("MCP_JOB_TTL_SECONDS"):
            config = replace(
                config, job_ttl_seconds=_number(env["MCP_JOB_TTL_SECONDS"], "MCP_JOB_TTL_SECONDS")
            )
        return config


def idle_seconds(env: Mapping[str, str], default: float = 900.0) -> float:
    """MCP_SESSION_IDLE_SECONDS, read by the runtime (budgets) and the HTTP transport (its sessions) alike."""
    text = env.get("MCP_SESSION_IDLE_SECONDS")
    if not text:
        return default
    value = _number(text, "MCP_SESSION_IDLE_SECONDS")
    if not 0 < value < float("inf"):
        raise ValueError(f"MCP_SESSION_IDLE_SECONDS: {text!r} must be a positive number of seconds")
    return value


def pairs(text: str, variable: str, shape: str = "tool=value") -> dict[str, str]:
    """`NAME=VALUE` pairs, comma-separated, as the runtime's variables take them (MCP_RATE_LIMITS, MCP_TOOL_COSTS,
    MCP_GATEWAY_SERVERS); a ValueError names the variable and the item that is not `shape`."""
    found = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, _, value = (half.strip() for half in item.partition("="))
        if not key or not value:
            raise ValueError(f"{variable}: {item!r} is not {shape} (pairs are comma-separated)")
        found[key] = value
    return found


def _number(text: str, name: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{name}: {text!r} is not a number") from None
