"""Property-based tests of the guard and the masker: whatever the input, they fail closed and never crash."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from analyst import guard, pii
from analyst.guard import QueryRefused

WRITE_KEYWORDS = ["DELETE FROM t", "UPDATE t SET a = 1", "INSERT INTO t VALUES (1)", "DROP TABLE t", "CREATE TABLE x (a int)",
                  "ALTER TABLE t ADD b int", "TRUNCATE t", "GRANT ALL ON t TO x", "MERGE INTO t USING s ON true WHEN MATCHED THEN DELETE"]  # fmt: skip
noise = st.sampled_from(["", " ", "\n", "\t", "/* x */", "/*;*/", "-- c\n", "  /* multi\nline */ "])


def _random_case(text: str, flips: list[bool]) -> str:
    return "".join(
        c.upper() if flip else c.lower()
        for c, flip in zip(text, flips * (len(text) // max(len(flips), 1) + 1), strict=False)
    )


@given(st.text(max_size=300))
@settings(max_examples=300)
def test_the_guard_only_ever_accepts_or_refuses(text: str) -> None:
    try:
        checked = guard.check(text)
    except QueryRefused as exc:
        assert str(exc)
    else:
        assert checked.kind in guard.READ_STARTS


@given(st.sampled_from(WRITE_KEYWORDS), noise, noise, st.lists(st.booleans(), min_size=1, max_size=8),
       st.sampled_from(["{w}", "SELECT 1; {w}", "WITH x AS ({w} RETURNING *) SELECT * FROM x",
                        "EXPLAIN ANALYZE {w}", "(({w}))", "SELECT 1 UNION ALL SELECT 2; {w}"]))  # fmt: skip
def test_writes_are_refused_however_they_are_dressed(
    write: str, before: str, after: str, flips: list[bool], shape: str
) -> None:
    statement = before + shape.format(w=_random_case(write, flips)) + after
    try:
        guard.check(statement)
    except QueryRefused:
        return
    raise AssertionError(f"accepted: {statement!r}")


emails = st.from_regex(
    r"[a-z]{1,10}(\.[a-z]{1,8})?[0-9]{0,3}@[a-z]{2,10}\.(com|org|net|test)", fullmatch=True
)
ssns = st.from_regex(r"[0-8][0-9]{2}-[0-9]{2}-[0-9]{4}", fullmatch=True)
filler = st.text(alphabet=st.characters(whitelist_categories=("L", "Zs")), max_size=30)


def _card(prefix: str, body: str) -> str:
    digits = prefix + body
    for check in "0123456789":
        if pii.luhn_valid(digits + check):
            return digits + check
    raise AssertionError


cards = st.builds(
    _card, st.sampled_from(["4", "51", "37", "6011"]), st.from_regex(r"[0-9]{11}", fullmatch=True)
)


@given(filler, st.one_of(emails, ssns, cards), filler)
def test_detectors_find_personal_data_inside_any_text(left: str, value: str, right: str) -> None:
    scrubbed, count = pii.scrub(f"{left} {value} {right}")
    assert value not in scrubbed and count >= 1


@given(st.sampled_from(["email", "ssn", "phone", "card", "birth_date", "postal_code", "address", "name"]),
       st.one_of(emails, ssns, cards, st.text(min_size=5, max_size=40)))  # fmt: skip
def test_a_masked_value_is_never_the_value(kind: str, value: str) -> None:
    masked = pii.mask(kind, value)
    assert masked != value
    assert pii.scrub(masked)[1] == 0, "a mask must not itself look like personal data"


@given(st.text(max_size=60), st.text(max_size=60))
def test_hashing_keeps_equality_and_nothing_else(value: str, other: str) -> None:
    policy = pii.Policy(rules=(pii.Rule("x", pii.Action.HASH, (re.compile("^secret$"),)),))
    column = policy.column("t", "secret")
    assert column is not None
    hashed = pii.apply(policy, column, value)
    assert re.fullmatch(r"hash:[0-9a-f]{16}", hashed)
    assert hashed == pii.apply(policy, column, value)
    assert (hashed == pii.apply(policy, column, other)) == (value == other)
