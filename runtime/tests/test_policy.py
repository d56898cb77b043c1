"""The one refusal policy of the server and the gateway: budgets per client, rates per tool kept shared or per
client, a refusal that says when to retry and spends nothing."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest

from mcpkit_runtime.audit import AuditLog, audit_fields, timed
from mcpkit_runtime.config import RuntimeConfig, pairs
from mcpkit_runtime.gateway.settings import GatewaySettings
from mcpkit_runtime.limits import Limits, Rate
from mcpkit_runtime.policy import Policy, Refusal


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_servers_rates_are_shared_by_its_clients_and_its_budgets_are_each_clients_own() -> None:
    config = RuntimeConfig(rate_limits={"send": Rate.parse("1/min:2")}, session_budget=3)
    policy = Policy(config.limits(), Clock())
    assert policy.admit("send", "ann") is None and policy.admit("send", "bob") is None
    refused = policy.admit("send", "cid")
    assert refused is not None and refused.outcome == "refused_rate_limit"
    assert refused.message == (
        "rate limit for send: at most 1 calls per minute (bursts of 2). Try again in 60.0 s."
    )
    assert refused.facts == {"retry_after_seconds": 60.0}
    assert policy.remaining("ann") == 2 and policy.remaining("cid") == 3, "the refused call spent nothing"


def test_a_tool_costing_more_than_the_burst_is_refused_as_never_runnable_not_told_to_wait() -> None:
    limits = Limits(
        lambda _: Rate.parse("60/min:3"), lambda tool: 5.0 if tool == "profile" else 1.0, budget=None
    )
    policy = Policy(limits, Clock())
    refused = policy.admit("profile", "ann")
    assert refused is not None and refused.outcome == "refused_rate_limit"
    assert refused.retry_after_seconds is None and "Try again" not in refused.message
    assert "profile costs 5 but its rate limit allows bursts of 3 at most" in refused.message
    assert policy.admit("query", "ann") is None, "the other tools are not held up"


def test_the_gateways_rates_and_budgets_are_each_clients_own() -> None:
    settings = GatewaySettings.model_validate({"rate-limits": {"*": "1/min:1"}, "session-budget": 2})
    clock = Clock()
    policy = Policy(settings.limits(), clock)
    assert policy.admit("a__t", "ann") is None and policy.admit("a__t", "bob") is None, "one token each"
    refused = policy.admit("a__t", "ann")
    assert refused is not None and refused.message.startswith(
        "rate limit for a__t at the gateway for this client"
    )
    assert policy.admit("b__t", "ann") is None
    clock.now = 120.0
    over = policy.admit("a__t", "ann")
    assert over is not None and over.outcome == "refused_budget" and over.retry_after_seconds is None
    assert "budget of 2 calls at the gateway is used up" in over.message
    assert "a new session starts a new budget" in over.message


def test_a_hosts_own_check_comes_after_the_budget_and_what_it_refuses_costs_nothing() -> None:
    policy = Policy(Limits(lambda _: Rate.parse("1/hour:2"), lambda _: 2.0, budget=2), Clock())
    invalid = Refusal("invalid_arguments", "'unit' must be C or F")
    assert policy.admit("t", "ann", lambda: invalid) is invalid
    assert policy.admit("t", "ann") is None, "no token was taken, no budget spent"
    over = policy.admit("t", "ann", lambda: invalid)
    assert over is not None and over.outcome == "refused_budget" and "(t costs 2)" in over.message


def test_one_timed_line_per_call_with_what_the_code_reported_never_over_the_hosts_facts() -> None:
    stream = io.StringIO()
    audit = AuditLog("s", "1.0", stream=stream)
    with timed(audit, "tool_call", tool="t") as call:
        audit_fields(rows=3, tool="forged", event="forged")
        call.outcome = "ok"
    with timed(audit, "tool_call", tool="t") as call:
        call.refuse("refused_rate_limit", retry_after_seconds=1.5)
    with pytest.raises(RuntimeError), timed(audit, "tool_call", tool="t"):
        raise RuntimeError("boom")
    ran, refused, failed = (json.loads(line) for line in stream.getvalue().splitlines())
    assert (ran["event"], ran["tool"], ran["rows"], ran["outcome"]) == ("tool_call", "t", 3, "ok")
    assert ran["duration_ms"] >= 0
    assert refused["duration_ms"] == 0.0 and refused["retry_after_seconds"] == 1.5
    assert failed["outcome"] == "error"
    audit_fields(rows=4)  # outside a call: nowhere to go, and no error


def test_name_value_pairs_are_read_one_way_and_a_wrong_one_is_named() -> None:
    assert pairs(" a=1/s , b = http://b:8000/mcp?x=y,", "V") == {"a": "1/s", "b": "http://b:8000/mcp?x=y"}
    for wrong in ("a", "=1", "a="):
        with pytest.raises(ValueError, match=f"MCP_GATEWAY_SERVERS: '{wrong}' is not name=url"):
            pairs(f"ok=1,{wrong}", "MCP_GATEWAY_SERVERS", "name=url")


def test_a_deployed_gateway_given_servers_written_wrong_does_not_start_and_names_the_item() -> None:
    environment = {**os.environ, "MCP_GATEWAY_SERVERS": "analyst=http://analyst:8000/mcp,mailer"}
    done = subprocess.run([sys.executable, "-m", "mcpkit_runtime.gateway"], env=environment, capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2 and not done.stdout
    assert "cannot start: MCP_GATEWAY_SERVERS: 'mailer' is not name=url" in done.stderr
