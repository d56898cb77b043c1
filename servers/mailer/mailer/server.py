"""The MCP surface: send_email, rate-limited and audited by the kit's runtime."""

from __future__ import annotations

import errno
import logging
import os
import re
import smtplib
import sys
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid
from enum import StrEnum
from typing import Annotated

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field

from mailer import __version__
from mailer.delivery import Transport, transport_from_env
from mcpkit_runtime import logs
from mcpkit_runtime.config import RuntimeConfig
from mcpkit_runtime.limits import Rate
from mcpkit_runtime.server import Runtime
from mcpkit_runtime.transport import serve

log = logging.getLogger("mailer")
ADDRESS = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
DEFAULTS = RuntimeConfig(
    rate_limits={"send_email": Rate.parse("5/min:5")},
    session_budget=20,
    hidden_arguments=frozenset({"subject", "body"}),
)
PRIORITY_SYNONYMS = {
    "priority": {
        "urgent": "high", "asap": "high", "important": "high", "p1": "high", "critical": "high",
        "medium": "normal", "default": "normal", "p2": "normal", "regular": "normal",
        "minor": "low", "p3": "low", "whenever": "low",
    }
}  # fmt: skip


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


class SendResult(BaseModel):
    message_id: str
    recipients: list[str]
    delivered_via: str


def create_server(transport: Transport, sender: str, config: RuntimeConfig) -> MCPServer:
    runtime = Runtime("mailer", __version__, config, synonyms={"send_email": PRIORITY_SYNONYMS})
    mcp = runtime.create_server(
        instructions="Send short emails. Sending is rate-limited; batch what you can."
    )

    @mcp.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=True))
    def send_email(
        to: Annotated[
            list[str], Field(description="Recipients, e.g. ['ann@example.com'] or 'Ann <ann@example.com>'")
        ],
        subject: Annotated[str, Field(max_length=200, description="Subject line")],
        body: Annotated[str, Field(max_length=100_000, description="Plain-text body")],
        priority: Priority = Priority.NORMAL,
    ) -> SendResult:
        """Send one plain-text email."""
        recipients = _addresses(to)
        message = EmailMessage()
        message["From"] = sender
        message["To"] = ", ".join(recipients)
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
        message["X-Priority"] = {"high": "1", "normal": "3", "low": "5"}[priority.value]
        message.set_content(body)
        try:
            where = transport.deliver(message)
        except OSError as exc:
            raise ToolError(f"delivery failed: {_reason(exc)}; the message was not sent") from None
        log.info("sent", extra={"fields": {"via": transport.name, "recipients": len(recipients)}})
        return SendResult(
            message_id=message["Message-ID"],
            recipients=recipients,
            delivered_via=f"{transport.name}: {where}",
        )

    return mcp


def _reason(exc: OSError) -> str:
    """What an operator can act on, without paths or server details."""
    reasons = {
        errno.ENOSPC: "the outbox volume is full",
        errno.EDQUOT: "the outbox volume is over its quota",
        errno.EROFS: "the outbox volume is read-only",
        errno.EACCES: "the outbox is not writable by the server",
        errno.EPERM: "the outbox is not writable by the server",
    }
    if exc.errno in reasons:
        return reasons[exc.errno]
    return f"{type(exc).__name__} from the {'relay' if isinstance(exc, smtplib.SMTPException) else 'outbox'}; try again later"


def _addresses(values: list[str]) -> list[str]:
    parsed = [address for _, address in getaddresses(values) if address]
    bad = [a for a in parsed if not ADDRESS.match(a)]
    if bad or not parsed:
        raise ToolError(
            f"invalid recipient address(es): {', '.join(bad) or '(none given)'}; "
            "give plain addresses such as 'ann@example.com' or 'Ann <ann@example.com>'"
        )
    return parsed


def main() -> None:
    logs.configure()
    try:
        config = DEFAULTS.with_environment()
        transport = transport_from_env()
    except ValueError as exc:
        log.error("cannot start: %s", exc)
        sys.exit(2)
    serve(create_server(transport, os.environ.get("MAILER_FROM") or "mcp-mailer@localhost", config))
