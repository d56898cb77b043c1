"""Where messages go: an outbox folder (one .eml file each, written atomically) or an SMTP relay."""

from __future__ import annotations

import os
import smtplib
import ssl
import tempfile
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlparse


class Transport(Protocol):
    name: str

    def deliver(self, message: EmailMessage) -> str: ...


@dataclass
class Outbox:
    folder: Path
    name: str = "outbox"

    def deliver(self, message: EmailMessage) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        stem = message["Message-ID"].strip("<>").split("@")[0]
        descriptor, partial = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".partial")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(bytes(message))
                handle.flush()
                os.fsync(handle.fileno())
            final = self.folder / f"{stem}.eml"
            os.replace(partial, final)  # a reader of the outbox never sees half a message
        except BaseException:
            Path(partial).unlink(missing_ok=True)  # a full or failing volume keeps nothing half-written
            raise
        return str(final)


@dataclass
class SmtpRelay:
    """smtps:// is TLS from the start; smtp:// upgrades with STARTTLS whenever the relay offers it."""

    url: str
    name: str = "smtp"

    def deliver(self, message: EmailMessage) -> str:
        parts = urlparse(self.url)
        secure = parts.scheme == "smtps"
        port = parts.port or (465 if secure else 587)
        context = ssl.create_default_context()
        host = parts.hostname or "localhost"
        connection = (
            smtplib.SMTP_SSL(host, port, timeout=30, context=context)
            if secure
            else smtplib.SMTP(host, port, timeout=30)
        )
        with connection as smtp:
            smtp.ehlo()
            encrypted = secure
            if not secure and smtp.has_extn("starttls"):
                smtp.starttls(context=context)
                smtp.ehlo()
                encrypted = True
            if parts.username:
                if not encrypted:  # a password is never sent in clear text
                    raise smtplib.SMTPException(
                        "the relay offers no TLS; refusing to send credentials in clear"
                    )
                smtp.login(unquote(parts.username), unquote(parts.password or ""))
            smtp.send_message(message)
        return f"{parts.hostname}:{port}"


def transport_from_env() -> Transport:
    url = os.environ.get("MAILER_SMTP_URL")
    if url:
        if urlparse(url).scheme not in ("smtp", "smtps"):
            raise ValueError("MAILER_SMTP_URL must start with smtp:// or smtps://")
        return SmtpRelay(url)
    return Outbox(Path(os.environ.get("MAILER_OUTBOX") or "outbox"))
