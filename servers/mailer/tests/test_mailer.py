"""The mailer in-process through the SDK's client: lenient parsing, the outbox, and the runtime's limits."""

from __future__ import annotations

import dataclasses
import email
import errno
import json
import os
import socket
from pathlib import Path

import pytest
from mcp import Client

from mailer import delivery
from mailer.delivery import Outbox
from mailer.server import DEFAULTS, create_server
from mcpkit_runtime.limits import Rate

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _client(outbox: Path, **overrides: object) -> Client:
    config = dataclasses.replace(DEFAULTS, **overrides)  # type: ignore[arg-type]
    return Client(create_server(Outbox(outbox), "bot@example.org", config), mode="legacy")


async def test_a_message_lands_in_the_outbox_as_a_standard_email(tmp_path: Path) -> None:
    async with _client(tmp_path) as client:
        result = await client.call_tool(
            "send_email",
            {
                "to": "Ann <ann@example.com>; bob@example.com",
                "subject": "Hi",
                "body": "Hello",
                "priority": "URGENT",
            },
        )
    assert not result.is_error, result.content
    assert result.structured_content["recipients"] == ["ann@example.com", "bob@example.com"]
    (file,) = tmp_path.glob("*.eml")
    message = email.message_from_bytes(file.read_bytes())
    assert message["To"] == "ann@example.com, bob@example.com" and message["X-Priority"] == "1"
    assert message.get_payload().strip() == "Hello"


async def test_bad_input_is_explained_and_sends_nothing(tmp_path: Path) -> None:
    async with _client(tmp_path) as client:
        bad_address = await client.call_tool(
            "send_email", {"to": ["not-an-address"], "subject": "x", "body": "y"}
        )
        bad_priority = await client.call_tool(
            "send_email", {"to": ["a@example.com"], "subject": "x", "body": "y", "priority": "yesterday"}
        )
    assert (
        bad_address.is_error
        and "invalid recipient address(es): not-an-address" in bad_address.content[0].text
    )
    text = bad_priority.content[0].text
    assert (
        bad_priority.is_error
        and "'priority' must be one of 'low', 'normal', 'high'" in text
        and "Example" in text
    )
    assert not list(tmp_path.glob("*.eml"))


async def test_rapid_calls_send_exactly_the_burst_and_refuse_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with _client(
        tmp_path, rate_limits={"send_email": Rate.parse("1/hour:5")}, session_budget=None
    ) as client:
        results = [
            await client.call_tool(
                "send_email", {"to": [f"u{i}@example.com"], "subject": "s", "body": f"secret body {i}"}
            )
            for i in range(100)
        ]
    refused = [r for r in results if r.is_error]
    assert len(list(tmp_path.glob("*.eml"))) == 5 and len(refused) == 95
    assert all(
        "rate limit for send_email" in r.content[0].text and "Try again in" in r.content[0].text
        for r in refused
    )
    audit = [json.loads(line) for line in capsys.readouterr().err.splitlines() if '"logger": "audit"' in line]
    assert len(audit) == 100 and sum(a["outcome"] == "refused_rate_limit" for a in audit) == 95
    assert "secret body" not in json.dumps(audit) and "u1@example.com" not in json.dumps(audit)


async def test_the_session_budget_caps_a_session(tmp_path: Path) -> None:
    async with _client(tmp_path, rate_limits={}, session_budget=3) as client:
        results = [
            await client.call_tool("send_email", {"to": ["a@example.com"], "subject": "s", "body": "b"})
            for _ in range(5)
        ]
    assert [r.is_error for r in results] == [False, False, False, True, True]
    assert "budget of 3 calls is used up" in results[-1].content[0].text


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on loopback, without TLS, like many internal relays."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    received: list = []

    class Collect(Message):
        def handle_message(self, message) -> None:
            received.append(message)

    with socket.socket() as probe:  # a free loopback port (aiosmtpd's readiness check cannot use port 0)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Collect(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"127.0.0.1:{port}", received
    finally:
        controller.stop()


async def test_the_smtp_relay_delivers_the_same_message(smtp_server) -> None:
    from mailer.delivery import SmtpRelay

    address, received = smtp_server
    config = dataclasses.replace(DEFAULTS, rate_limits={}, session_budget=None)
    async with Client(
        create_server(SmtpRelay(f"smtp://{address}"), "bot@example.org", config), mode="legacy"
    ) as client:
        result = await client.call_tool(
            "send_email", {"to": "ann@example.com", "subject": "Hi", "body": "Hello", "priority": "low"}
        )
    assert not result.is_error and result.structured_content["delivered_via"].startswith("smtp: ")
    (message,) = received
    assert message["To"] == "ann@example.com" and message["X-Priority"] == "5"


async def test_credentials_are_never_sent_without_tls(smtp_server) -> None:
    from mailer.delivery import SmtpRelay

    address, received = smtp_server
    config = dataclasses.replace(DEFAULTS, rate_limits={}, session_budget=None)
    relay = SmtpRelay(f"smtp://user:secret@{address}")
    async with Client(create_server(relay, "bot@example.org", config), mode="legacy") as client:
        result = await client.call_tool(
            "send_email", {"to": "ann@example.com", "subject": "Hi", "body": "Hello"}
        )
    assert result.is_error and "not sent" in result.content[0].text and not received


@pytest.mark.parametrize(
    ("failure", "reason"),
    [(errno.ENOSPC, "the outbox volume is full"), (errno.EROFS, "the outbox volume is read-only")],
)
async def test_a_full_or_read_only_outbox_is_a_clear_error_and_leaves_nothing_half_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: int, reason: str
) -> None:
    def fail(descriptor: int) -> None:  # the disk says no after the bytes were handed over
        raise OSError(failure, os.strerror(failure))

    monkeypatch.setattr(delivery.os, "fsync", fail)
    async with _client(tmp_path) as client:
        result = await client.call_tool(
            "send_email", {"to": ["a@example.com"], "subject": "s", "body": "b" * 5000}
        )
    assert (
        result.is_error and f"delivery failed: {reason}; the message was not sent" in result.content[0].text
    )
    assert list(tmp_path.iterdir()) == [], "no partial file left in the outbox"
