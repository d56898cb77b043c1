"""A realistic, deterministic demo shop database: customers with personal data, products, orders.

Run as `python -m analyst.demo_data PATH` (the image build does this to bake the database in).
"""

from __future__ import annotations

import functools
import random
import sqlite3
import sys
from datetime import date, datetime, timedelta
from itertools import chain, islice
from math import log
from pathlib import Path

SCHEMA = """
CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    phone TEXT,
    ssn TEXT,
    birth_date DATE,
    street_address TEXT,
    city TEXT NOT NULL,
    state TEXT NOT NULL,
    postal_code TEXT,
    card_number TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE TABLE products (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    price NUMERIC(10, 2) NOT NULL,
    launched_on DATE NOT NULL
);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    ordered_at TIMESTAMP NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('placed', 'shipped', 'delivered', 'returned', 'cancelled'))
);
CREATE TABLE order_items (
    order_id INTEGER NOT NULL REFERENCES orders(id),
    product_id INTEGER NOT NULL REFERENCES products(id),
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    unit_price NUMERIC(10, 2) NOT NULL,
    PRIMARY KEY (order_id, product_id)
);
CREATE TABLE page_views (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER REFERENCES customers(id),
    product_id INTEGER NOT NULL REFERENCES products(id),
    viewed_at TIMESTAMP NOT NULL,
    seconds_on_page INTEGER NOT NULL,
    referrer TEXT NOT NULL,
    device TEXT NOT NULL
);
CREATE INDEX orders_customer_id ON orders(customer_id);
CREATE INDEX orders_ordered_at ON orders(ordered_at);
CREATE INDEX order_items_product_id ON order_items(product_id);
"""

FIRST_NAMES = """James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan
Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty Anthony Sandra Mark Ashley Aisha
Mohammed Wei Mei Hiroshi Yuki Carlos Sofia Mateo Lucia Olga Ivan Priya Arjun Fatima Omar Chloe Lucas Emma Noah""".split()
LAST_NAMES = """Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson
Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis Robinson Walker
Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter""".split()
CITIES = [
    ("Seattle", "WA", "98"),
    ("Portland", "OR", "97"),
    ("San Francisco", "CA", "94"),
    ("Los Angeles", "CA", "90"),
    ("Denver", "CO", "80"),
    ("Austin", "TX", "73"),
    ("Chicago", "IL", "60"),
    ("Boston", "MA", "02"),
    ("New York", "NY", "10"),
    ("Atlanta", "GA", "30"),
    ("Miami", "FL", "33"),
    ("Minneapolis", "MN", "55"),
]
STREETS = "Oak Maple Pine Cedar Elm Washington Lake Hill Park Main Sunset Ridge River Spring Highland".split()
CATEGORIES = {
    "Books": ["Field Guide", "Cookbook", "Novel", "Atlas", "Workbook"],
    "Electronics": ["Headphones", "Charger", "Keyboard", "Monitor", "Speaker"],
    "Garden": ["Trowel", "Hose", "Planter", "Seed Kit", "Pruner"],
    "Kitchen": ["Skillet", "Kettle", "Knife Set", "Blender", "Mixing Bowl"],
    "Outdoors": ["Tent", "Backpack", "Lantern", "Sleeping Bag", "Water Filter"],
}
ADJECTIVES = "Classic Compact Deluxe Essential Premium Pro Ultra Eco Travel Heritage".split()
STATUSES = ["delivered"] * 14 + ["shipped"] * 3 + ["placed"] * 2 + ["returned", "cancelled"]
ITEMS_PER_ORDER, QUANTITIES = [1, 1, 1, 2, 2, 3, 4], [1, 1, 1, 2, 3]
START = datetime(2023, 1, 1)


def _luhn_complete(digits: str) -> str:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 0:
            value *= 2
            value -= 9 if value > 9 else 0
        total += value
    return digits + str((10 - total % 10) % 10)


def _customers(rng: random.Random, count: int) -> list[tuple]:
    rows = []
    for cid in range(1, count + 1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        city, state, zip_prefix = rng.choice(CITIES)
        card = _luhn_complete(
            rng.choice(["4", "51", "37"]) + "".join(rng.choice("0123456789") for _ in range(13))
        )
        rows.append(
            (
                cid,
                first,
                last,
                f"{first.lower()}.{last.lower()}{cid}@{rng.choice(['example.com', 'mail.test', 'inbox.example'])}",
                f"({rng.randint(201, 989)}) {rng.randint(200, 999)}-{rng.randint(0, 9999):04d}",
                f"{rng.randint(100, 665):03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}",
                (date(1950, 1, 1) + timedelta(days=rng.randint(0, 365 * 55))).isoformat(),
                f"{rng.randint(1, 9999)} {rng.choice(STREETS)} {rng.choice(['St', 'Ave', 'Blvd', 'Rd'])}",
                city,
                state,
                f"{zip_prefix}{rng.randint(0, 999):03d}",
                card,
                (START + timedelta(minutes=rng.randint(0, 60 * 24 * 365))).isoformat(sep=" "),
            )
        )
    return rows


def _products(rng: random.Random) -> list[tuple]:
    rows: list[tuple] = []
    for category, nouns in CATEGORIES.items():
        for noun in nouns:
            for adjective in rng.sample(ADJECTIVES, 4):
                price = round(rng.uniform(4, 400), 2)
                launched = (date(2021, 1, 1) + timedelta(days=rng.randint(0, 900))).isoformat()
                rows.append((len(rows) + 1, f"{adjective} {noun}", category, price, launched))
    return rows


# The 340,000 rows of orders and page views draw as rng.randint(a, b) and rng.choice(seq) do, by the call both make,
# rng._randbelow (a + _randbelow(b - a + 1), seq[_randbelow(len(seq))]), and rng.expovariate(rate) as it computes
# it: the same numbers from the same seed, with fewer Python calls a row (the image build makes them at each
# code change). Their timestamps come from lookup tables, not datetime. test_demo_data pins a digest of every row.
# (typeshed leaves the private _randbelow out, hence the ignores.)
def _orders(rng: random.Random, customers: int, products: list[tuple], count: int) -> tuple[list, list]:
    hours, minutes_seconds = _clock(701)
    below, sample, statuses = rng._randbelow, rng.sample, len(STATUSES)  # type: ignore[attr-defined]
    orders, items = [], []
    for oid in range(1, count + 1):
        hour, minute = divmod(below(60 * 24 * 700 + 1), 60)  # minutes after START
        ordered_at = hours[hour] + minutes_seconds[minute * 60]
        orders.append((oid, 1 + below(customers), ordered_at, STATUSES[below(statuses)]))
        for product in sample(products, ITEMS_PER_ORDER[below(7)]):
            items.append((oid, product[0], QUANTITIES[below(5)], product[3]))
    return orders, items


def _page_views(rng: random.Random, customers: int, products: int, count: int) -> list[tuple]:
    referrers = ["search", "email", "social", "direct", "ads", "partner"]
    devices = ["mobile"] * 5 + ["desktop"] * 4 + ["tablet"]
    hours, minutes_seconds = _clock(701)
    below, uniform, rate = rng._randbelow, rng.random, 1 / 45  # type: ignore[attr-defined]
    rows = []
    for vid in range(1, count + 1):
        customer = 1 + below(customers) if uniform() < 0.6 else None  # anonymous visitors too
        hour, second = divmod(below(86400 * 700 + 1), 3600)
        rows.append((vid, customer, 1 + below(products), hours[hour] + minutes_seconds[second],
                     int(-log(1.0 - uniform()) / rate) + 1, referrers[below(6)], devices[below(10)]))  # fmt: skip
    return rows


@functools.cache  # orders and page views share it
def _clock(days: int) -> tuple[list[str], list[str]]:
    """START plus N seconds as `datetime.isoformat(sep=" ")` writes it: hours[N // 3600] + rest[N % 3600]."""
    hours = [(START + timedelta(hours=hour)).isoformat(sep=" ")[:13] for hour in range(24 * days)]
    return hours, [f":{minute:02d}:{second:02d}" for minute in range(60) for second in range(60)]


def demo_rows(
    *, customers: int = 2000, orders: int = 20000, page_views: int = 300_000, seed: int = 7
) -> dict[str, list[tuple]]:
    """Every table's rows, in SCHEMA's order. Same seed, same data, whichever database they go to."""
    rng = random.Random(seed)
    products = _products(rng)
    order_rows, item_rows = _orders(rng, customers, products, orders)
    return {
        "customers": _customers(rng, customers),
        "products": products,
        "orders": order_rows,
        "order_items": item_rows,
        "page_views": _page_views(rng, customers, len(products), page_views),
    }


def create_demo_database(
    path: Path, *, customers: int = 2000, orders: int = 20000, page_views: int = 300_000, seed: int = 7
) -> Path:
    """Write the demo database to `path` (replacing it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    # Built in memory and written compacted in one pass (VACUUM INTO), where inserting into the file and then
    # vacuuming it wrote it two or three times over, with a journal beside it: on an image build's overlay
    # filesystem each write is dear.
    db = sqlite3.connect(":memory:")
    try:
        with db:
            db.executescript(SCHEMA)
            for table, rows in demo_rows(
                customers=customers, orders=orders, page_views=page_views, seed=seed
            ).items():
                _insert(db, table, rows)
        db.execute("VACUUM INTO ?", (str(path),))
    finally:
        db.close()
    return path


def _insert(db: sqlite3.Connection, table: str, rows: list[tuple], per_statement: int = 100) -> None:
    """The rows in their order, `per_statement` to an INSERT: a quarter less time than one row to each."""
    values = "(" + ",".join("?" * len(rows[0])) + ")"
    whole = len(rows) - len(rows) % per_statement
    batches = iter(rows[:whole])
    db.executemany(
        f"INSERT INTO {table} VALUES {','.join([values] * per_statement)}",
        (tuple(chain.from_iterable(islice(batches, per_statement))) for _ in range(whole // per_statement)),
    )
    db.executemany(f"INSERT INTO {table} VALUES {values}", rows[whole:])


def load_postgres(url: str) -> None:
    """Create the demo shop in an empty PostgreSQL database (for tests and benchmarks)."""
    import psycopg

    with psycopg.connect(url) as connection:
        connection.execute(SCHEMA)
        for table, rows in demo_rows().items():
            with connection.cursor().copy(f"COPY {table} FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        connection.execute("ANALYZE")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m analyst.demo_data PATH")
    print(create_demo_database(Path(sys.argv[1])), file=sys.stderr)
