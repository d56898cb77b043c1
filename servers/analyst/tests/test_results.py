import sqlite3
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from uuid import UUID

from analyst.engines import open_engine
from analyst.pii import Policy
from analyst.runner import QueryResult, render_text, scrub_error, to_cell


def test_cells_serialise_cleanly() -> None:
    assert to_cell(None) is None
    assert to_cell(Decimal("12.50")) == "12.50", "decimals stay exact"
    assert to_cell(date(2024, 2, 29)) == "2024-02-29"
    assert to_cell(datetime(2024, 2, 29, 13, 5)) == "2024-02-29T13:05:00"
    assert to_cell(time(7, 30)) == "07:30:00"
    assert to_cell(timedelta(days=2)) == "2 days, 0:00:00"
    assert to_cell(b"\x00\xff") == "base64:AP8="
    assert to_cell(UUID(int=1)) == "00000000-0000-0000-0000-000000000001"
    assert to_cell({"a": [1, Decimal("2.5")]}) == {"a": [1, "2.5"]}, "JSON values stay JSON values"


def test_database_errors_never_echo_values() -> None:
    message = 'invalid input syntax for type integer: "1985-03-02"'
    assert scrub_error(message) == 'invalid input syntax for type integer: "<value withheld>"'
    assert "ann@example.com" not in scrub_error("value ann@example.com is bad")


def test_text_rendering_is_short_and_says_what_was_masked() -> None:
    result = QueryResult(
        columns=["id", "email"], rows=[[i, "a***@x.test"] for i in range(80)], row_count=80, truncated=True,
        masked_columns=["email (customers.email: mask)"], note="stopped at the row limit of 80",
    )  # fmt: skip
    text = render_text(result)
    assert text.splitlines()[0].startswith(
        "80 rows (truncated: stopped at the row limit of 80); masked: email"
    )
    assert text.endswith("... 30 more rows in the structured result")


def test_schema_of_a_hundred_tables_fits_a_context_window(tmp_path: Path) -> None:
    path = tmp_path / "wide.db"
    with sqlite3.connect(path) as db:
        for t in range(100):
            columns = ", ".join(f"c{c} TEXT" for c in range(8))
            db.execute(f"CREATE TABLE t{t} (id INTEGER PRIMARY KEY, owner_email TEXT, {columns})")
    db.close()
    schema = open_engine(f"sqlite:///{path}").schema_ddl(Policy())
    assert schema.count("CREATE TABLE") == 100 and schema.count("-- personal data: owner_email (mask)") == 100
    assert len(schema) < 32_000, "about 8k tokens"
