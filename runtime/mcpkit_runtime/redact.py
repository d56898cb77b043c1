"""What a leak looks like in any text: detectors for personal data, and redaction of secrets in arguments."""

from __future__ import annotations

import re
from typing import Any

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_SSN = re.compile(r"(?<!\d)\d{3}-\d{2}-\d{4}(?!\d)")
_PHONE = re.compile(r"(?<![\d*])(?:\+?1[ .-]?)?\(?\d{3}\)?[ .-]?\d{3}[ .-]\d{4}(?!\d)")
_CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
SECRET_KEYS = re.compile(
    r"pass(word)?|secret|token|api_?key|auth|credential|private_?key|cookie|session", re.I
)
REDACTED = "[REDACTED]"


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def scrub(text: str) -> tuple[str, int]:
    """`text` with every email, SSN, phone and (Luhn-valid) card number replaced; and how many were found."""
    count = 0

    def replace(kind: str) -> Any:
        def inner(match: re.Match[str]) -> str:
            nonlocal count
            if kind == "card" and not luhn_valid(re.sub(r"\D", "", match.group())):
                return match.group()
            count += 1
            return f"[REDACTED {kind}]"

        return inner

    for kind, pattern in (("card", _CARD), ("ssn", _SSN), ("email", _EMAIL), ("phone", _PHONE)):
        if kind == "email" and "@" not in text:
            continue
        text = pattern.sub(replace(kind), text)
    return text, count


def scrub_value(value: Any) -> tuple[Any, int]:
    """A value through the detectors, into the lists and mappings of a JSON value; and how many were found.
    Integers are checked as card numbers (13 to 19 digits, Luhn-valid)."""
    if isinstance(value, dict):
        scrubbed = {key: scrub_value(item) for key, item in value.items()}
        return {key: item for key, (item, _) in scrubbed.items()}, sum(n for _, n in scrubbed.values())
    if isinstance(value, list):
        items = [scrub_value(item) for item in value]
        return [item for item, _ in items], sum(n for _, n in items)
    if isinstance(value, str):
        return scrub(value) if any(c.isdigit() or c == "@" for c in value) else (value, 0)
    digits = str(abs(value)) if isinstance(value, int) and not isinstance(value, bool) else ""
    if 13 <= len(digits) <= 19 and luhn_valid(digits):
        return "[REDACTED card]", 1
    return value, 0


def redact_arguments(arguments: Any, hidden: frozenset[str] = frozenset()) -> Any:
    """Arguments fit for a log: secrets by key name and `hidden` keys replaced, personal data scrubbed."""
    if isinstance(arguments, dict):
        return {
            key: REDACTED
            if key in hidden or SECRET_KEYS.search(str(key))
            else redact_arguments(value, hidden)
            for key, value in arguments.items()
        }
    if isinstance(arguments, list):
        return [redact_arguments(item, hidden) for item in arguments]
    return scrub_value(arguments)[0]
