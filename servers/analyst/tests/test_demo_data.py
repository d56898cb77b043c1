import hashlib
import sqlite3
from pathlib import Path

from analyst.demo_data import _luhn_complete, create_demo_database

# The demo shop every test, benchmark and image build relies on: a digest of all its rows, table by table. A change
# to how the rows are generated that changes any of them changes this; then it is a decision, not an accident.
DEMO_ROWS_SHA256 = "5fafff7bc6a7f7584e80cbc8391858664c678e1603e629d67ff843cf5c9c0378"


def _rows_digest(path: Path) -> str:
    digest = hashlib.sha256()
    db = sqlite3.connect(path)
    for (table,) in db.execute("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY rowid"):
        digest.update(f"{table}\n".encode())
        for row in db.execute(f"SELECT * FROM {table} ORDER BY rowid"):
            digest.update(repr(row).encode() + b"\n")
    db.close()
    return digest.hexdigest()


def test_the_demo_database_holds_exactly_the_pinned_rows(demo_db: Path) -> None:
    assert _rows_digest(demo_db) == DEMO_ROWS_SHA256


def test_demo_database_is_deterministic(tmp_path: Path) -> None:
    first = create_demo_database(tmp_path / "a.db", customers=50, orders=100)
    second = create_demo_database(tmp_path / "b.db", customers=50, orders=100)
    dump = lambda p: list(sqlite3.connect(p).iterdump())  # noqa: E731
    assert dump(first) == dump(second)


def test_a_demo_database_written_again_replaces_the_old_one(tmp_path: Path) -> None:
    path = create_demo_database(tmp_path / "d.db", customers=20, orders=5, page_views=10)
    create_demo_database(path, customers=30, orders=5, page_views=10)
    db = sqlite3.connect(path)
    assert db.execute("SELECT count(*) FROM customers").fetchone() == (30,)
    db.close()


def test_customers_carry_realistic_personal_data(tmp_path: Path) -> None:
    db = sqlite3.connect(create_demo_database(tmp_path / "d.db", customers=200, orders=10))
    email, phone, ssn, card = db.execute(
        "SELECT email, phone, ssn, card_number FROM customers LIMIT 1"
    ).fetchone()
    assert "@" in email and phone.startswith("(") and len(ssn) == 11
    assert _luhn_complete(card[:-1]) == card, "card numbers pass the Luhn check, like real ones"
    assert db.execute("SELECT count(*) FROM order_items").fetchone()[0] > 10
    db.close()
