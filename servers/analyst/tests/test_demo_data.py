import sqlite3
from pathlib import Path

from analyst.demo_data import _luhn_complete, create_demo_database


def test_demo_database_is_deterministic(tmp_path: Path) -> None:
    first = create_demo_database(tmp_path / "a.db", customers=50, orders=100)
    second = create_demo_database(tmp_path / "b.db", customers=50, orders=100)
    dump = lambda p: list(sqlite3.connect(p).iterdump())  # noqa: E731
    assert dump(first) == dump(second)


def test_customers_carry_realistic_personal_data(tmp_path: Path) -> None:
    db = sqlite3.connect(create_demo_database(tmp_path / "d.db", customers=200, orders=10))
    email, phone, ssn, card = db.execute(
        "SELECT email, phone, ssn, card_number FROM customers LIMIT 1"
    ).fetchone()
    assert "@" in email and phone.startswith("(") and len(ssn) == 11
    assert _luhn_complete(card[:-1]) == card, "card numbers pass the Luhn check, like real ones"
    assert db.execute("SELECT count(*) FROM order_items").fetchone()[0] > 10
    db.close()
