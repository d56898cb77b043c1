"""Personal data: which columns hold it (the policy), what to do with their values, and detectors that catch it in
any text, as a backstop on every result and every error message."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

from mcpkit_runtime.redact import luhn_valid, scrub, scrub_value

__all__ = ["luhn_valid", "scrub", "scrub_value"]  # detectors live in the runtime; re-exported here


class Action(StrEnum):
    MASK = "mask"  # keep a hint of the shape (last four digits, first letter, year)
    HASH = "hash"  # a keyed hash: equal values stay equal within the server's life, nothing else survives
    REDACT = "redact"  # replaced by a fixed marker
    DENY = "deny"  # queries selecting the column are refused


@dataclass(frozen=True)
class Rule:
    kind: str  # what the data is (email, ssn, ...): chooses the mask
    action: Action
    patterns: tuple[re.Pattern[str], ...] = ()  # matched against the column name
    columns: frozenset[str] = frozenset()  # "table.column" or "column", case-insensitive


@dataclass(frozen=True)
class PiiColumn:
    table: str
    column: str
    rule: Rule

    @property
    def label(self) -> str:
        return f"{self.table}.{self.column}"


def _rule(kind: str, action: Action, *patterns: str) -> Rule:
    return Rule(kind, action, tuple(re.compile(p, re.IGNORECASE) for p in patterns))


DEFAULT_RULES = (
    _rule("ssn", Action.REDACT, r"^(ssn|social_security(_number|_no)?|sin|national_id(_number)?|tax_id)$"),
    _rule("email", Action.MASK, r"^(e_?mail)(_address)?$", r"_e_?mail$"),
    _rule("phone", Action.MASK, r"^(phone|telephone|mobile|cell|fax)(_?(number|no))?$", r"_phone$"),
    _rule("card", Action.MASK, r"^(credit_?)?card(_?(number|no|num))?$", r"^(cc|pan)(_number)?$"),
    _rule("birth_date", Action.MASK, r"^(birth_?date|date_of_birth|dob|birthday)$"),
    _rule("address", Action.REDACT, r"^(street_?)?address(_?line_?\d)?$", r"^street$"),
    _rule("postal_code", Action.MASK, r"^(postal_?code|zip(_?code)?|postcode)$"),
)


@dataclass(frozen=True)
class Policy:
    rules: tuple[Rule, ...] = DEFAULT_RULES
    refuse_pii_in_filters: bool = (
        True  # WHERE / JOIN / GROUP BY / ORDER BY on PII leak it one comparison at a time
    )
    hash_key: bytes = field(default_factory=lambda: os.urandom(32), repr=False)

    def column(self, table: str, column: str) -> PiiColumn | None:
        rule = _lookup(self.rules, table.lower(), column.lower())
        return PiiColumn(table, column, rule) if rule else None


@lru_cache(maxsize=4096)
def _lookup(rules: tuple[Rule, ...], table: str, column: str) -> Rule | None:
    for rule in rules:
        if f"{table}.{column}" in rule.columns or column in rule.columns:
            return rule
        if any(p.search(column) for p in rule.patterns):
            return rule
    return None


def load_policy(path: Path | None, hash_key: str | None = None) -> Policy:
    """The default policy, or the one in a TOML file:

    refuse_pii_in_filters = true
    include_defaults = true            # keep the built-in rules after the file's own
    [[rule]]
    kind = "employee_id"
    action = "hash"                    # mask | hash | redact | deny
    columns = ["staff.badge_number"]   # and/or patterns = ["^badge"]
    """
    key = hash_key.encode() if hash_key else os.urandom(32)
    if path is None:
        return Policy(hash_key=key)
    import tomllib  # only with a policy file: not on every start

    data = tomllib.loads(path.read_text(encoding="utf-8"))
    rules = tuple(
        Rule(
            kind=str(entry.get("kind", "custom")),
            action=Action(entry["action"]),
            patterns=tuple(re.compile(p, re.IGNORECASE) for p in entry.get("patterns", [])),
            columns=frozenset(c.lower() for c in entry.get("columns", [])),
        )
        for entry in data.get("rule", [])
    )
    if data.get("include_defaults", True):
        rules += DEFAULT_RULES
    return Policy(
        rules=rules, refuse_pii_in_filters=bool(data.get("refuse_pii_in_filters", True)), hash_key=key
    )


REDACTED = "[REDACTED]"


def apply(policy: Policy, pii: PiiColumn, value: Any) -> Any:
    if value is None:
        return None
    if pii.rule.action is Action.REDACT:
        return REDACTED
    text = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
    if pii.rule.action is Action.HASH:
        digest = hmac.new(policy.hash_key, text.encode(), hashlib.sha256).hexdigest()
        return f"hash:{digest[:16]}"
    return mask(pii.rule.kind, text)


_LAST_FOUR = {
    "card": lambda digits: "*" * (len(digits) - 4) + digits[-4:],
    "ssn": lambda digits: f"***-**-{digits[-4:]}",
    "phone": lambda digits: f"***-***-{digits[-4:]}",
}


def mask(kind: str, text: str) -> str:
    digits = re.sub(r"\D", "", text)
    if kind == "email" and "@" in text:
        local, _, domain = text.partition("@")
        return f"{local[:1]}***@{domain}"
    if len(digits) >= 4 and kind in _LAST_FOUR:
        return _LAST_FOUR[kind](digits)
    if kind == "birth_date" and re.match(r"^\d{4}", text):
        return text[:4] + "-**-**"
    if kind == "postal_code" and len(text) >= 3:
        return text[:3] + "*" * (len(text) - 3)
    return (text[:1] + "***") if text else text
