"""list_tables and describe_table: the same facts db://schema gives, on both engines, whatever role reads them."""

from __future__ import annotations

from analyst import catalog
from analyst.pii import Policy


def test_describe_gives_the_tables_columns_keys_and_indexes_db_schema_gives(target) -> None:
    tables = catalog.mark_personal_data(target.engine.describe(), Policy())
    ddl = target.engine.schema_ddl(Policy())
    assert {t.name: [c.name for c in t.columns] for t in tables} == target.engine.tables()
    found = {t.name: t for t in tables}
    orders, items = found["orders"], found["order_items"]
    assert orders.primary_key == ["id"] and orders.kind == "table"
    assert [(k.columns, k.references_table, k.references_columns) for k in orders.foreign_keys] == [
        (["customer_id"], "customers", ["id"])
    ]
    assert {(k.references_table, tuple(k.columns)) for k in items.foreign_keys} == {
        ("orders", ("order_id",)),
        ("products", ("product_id",)),
    }
    assert any(i.columns == ["customer_id"] and not i.unique for i in orders.indexes)
    assert any(i.columns == ["email"] and i.unique for i in found["customers"].indexes)
    personal = [c.name for c in found["customers"].columns if c.personal_data]
    assert personal == ["email", "phone", "ssn", "birth_date", "street_address", "postal_code", "card_number"]
    for column in personal:  # db://schema marks the same columns
        assert any(column in line and "personal data" in line for line in ddl.splitlines()), column
    summary = catalog.summarise(tables)
    assert all(t.estimated_rows is None or t.estimated_rows >= 0 for t in summary.tables)


def test_a_table_is_found_by_its_name_in_any_case_or_qualified(target) -> None:
    tables = target.engine.describe()
    assert catalog.find(tables, "ORDERS") is not None and catalog.find(tables, "public.orders") is not None
    assert catalog.find(tables, '"orders"') is not None and catalog.find(tables, "pg_authid") is None
