import pytest

from mcpkit_runtime.config import RuntimeConfig
from mcpkit_runtime.limits import Budget, Rate, TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_rates_parse_with_units_and_bursts() -> None:
    assert Rate.parse("5/min:10") == Rate(per_second=5 / 60, burst=10)
    assert Rate.parse("2/s") == Rate(per_second=2, burst=2)
    assert Rate.parse("0.5/hour").burst == 1.0
    with pytest.raises(ValueError, match="COUNT/UNIT"):
        Rate.parse("fast")


def test_bucket_allows_a_burst_then_says_how_long_to_wait() -> None:
    clock = Clock()
    bucket = TokenBucket(Rate.parse("6/min:3"), clock)
    assert [bucket.take() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take() == pytest.approx(10.0)
    clock.now = 10.0
    assert bucket.take() == 0.0
    assert bucket.take() == pytest.approx(10.0)


def test_bucket_refills_only_up_to_its_burst() -> None:
    clock = Clock()
    bucket = TokenBucket(Rate.parse("1/s:2"), clock)
    clock.now = 3600.0
    assert [bucket.take() > 0 for _ in range(3)] == [False, False, True]


def test_costly_calls_take_more_tokens() -> None:
    bucket = TokenBucket(Rate.parse("1/s:5"), Clock())
    assert bucket.take(5) == 0.0 and bucket.take(1) == pytest.approx(1.0)


def test_a_call_costing_more_than_the_burst_never_fits() -> None:
    bucket = TokenBucket(Rate.parse("1/s:5"), Clock())
    assert bucket.take(6) == float("inf") and bucket.take(5) == 0.0


def test_budget_counts_costs_and_refuses_past_the_limit() -> None:
    budget = Budget(10)
    assert budget.charge(4) and budget.charge(6) and not budget.charge(1)
    assert budget.remaining == 0


def test_environment_overrides_code_defaults() -> None:
    config = RuntimeConfig(rate_limits={"send_email": Rate.parse("5/min")}).with_environment(
        {
            "MCP_RATE_LIMITS": "send_email=1/hour:2,*=10/s",
            "MCP_TOOL_COSTS": "profile_table=10",
            "MCP_SESSION_BUDGET": "50",
        }
    )
    assert config.rate_for("send_email") == Rate(1 / 3600, 2) and config.rate_for("other") == Rate(10, 10)
    assert config.cost_of("profile_table") == 10 and config.cost_of("x") == 1 and config.session_budget == 50
    with pytest.raises(ValueError, match="MCP_SESSION_BUDGET"):
        RuntimeConfig().with_environment({"MCP_SESSION_BUDGET": "lots"})
