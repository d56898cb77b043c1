"""The three corpora the analyst is held to, on SQLite and PostgreSQL alike.

A query is a string (the same SQL on both databases) or a dict with a "sqlite" and a "postgresql" variant.
"""

from __future__ import annotations

import re

Query = str | dict[str, str]

# Statements that try to write, lock, escape or exhaust. Every one must be refused or be harmless, and the
# database must be unchanged afterwards. WRITES are the ones the guard must refuse on its own.
WRITES: list[str] = [
    # stacked statements
    "SELECT 1; DROP TABLE customers",
    "SELECT 1; COMMIT; DROP SCHEMA public CASCADE;",
    "SELECT 1;DELETE FROM orders",
    "SELECT * FROM products; UPDATE products SET price = 0",
    "SELECT 1 /* ; */ ; INSERT INTO products VALUES (999, 'x', 'y', 1, '2024-01-01')",
    "SELECT 1\n;\nVACUUM",
    "SELECT 1; SET default_transaction_read_only = off; DELETE FROM orders",
    "SELECT 1; ROLLBACK; BEGIN; DROP TABLE order_items; COMMIT",
    "SELECT/**/1;/**/DROP/**/TABLE/**/orders",
    "EXPLAIN SELECT 1; DROP TABLE orders",
    # plain writes and DDL, some disguised
    "INSERT INTO products VALUES (999, 'x', 'y', 1, '2024-01-01')",
    "UPDATE products SET price = 0",
    "DELETE FROM orders",
    "REPLACE INTO products VALUES (1, 'x', 'y', 1, '2024-01-01')",
    "MERGE INTO products p USING products q ON p.id = q.id WHEN MATCHED THEN DELETE",
    "INSERT INTO products SELECT * FROM products ON CONFLICT DO NOTHING",
    "CREATE TABLE stolen AS SELECT * FROM customers",
    "CREATE TABLE t (a int)",
    "DROP TABLE customers",
    "ALTER TABLE customers ADD COLUMN pwned int",
    "TRUNCATE orders",
    "CREATE INDEX pwn ON orders(status)",
    "CREATE VIEW v AS SELECT * FROM customers",
    "GRANT ALL ON customers TO PUBLIC",
    "REVOKE SELECT ON customers FROM PUBLIC",
    "CREATE FUNCTION f() RETURNS int AS 'select 1' LANGUAGE sql",
    "CREATE TRIGGER t AFTER INSERT ON orders BEGIN DELETE FROM orders; END",
    "COMMENT ON TABLE customers IS 'pwned'",
    "/* just a comment */ DELETE FROM orders",
    "-- a comment\nDELETE FROM orders",
    "dElEtE FrOm orders",
    "  \n\t DELETE FROM orders",
    "(DELETE FROM orders)",
    # writable CTEs
    "WITH x AS (DELETE FROM orders RETURNING *) SELECT * FROM x",
    "WITH x AS (UPDATE products SET price = 0 RETURNING id) SELECT count(*) FROM x",
    "WITH x AS (INSERT INTO products VALUES (999, 'x', 'y', 1, '2024-01-01') RETURNING id) SELECT * FROM x",
    "WITH a AS (SELECT 1), b AS (DELETE FROM order_items RETURNING 1) SELECT * FROM a",
    "WITH x AS (SELECT 1) DELETE FROM orders",
    "WITH RECURSIVE r(n) AS (SELECT 1) UPDATE products SET price = 1",
    # SELECT INTO
    "SELECT * INTO backup FROM customers",
    "SELECT id INTO TEMP t FROM orders",
    "SELECT id INTO UNLOGGED t2 FROM orders",
    # row locks
    "SELECT * FROM orders FOR UPDATE",
    "SELECT * FROM orders FOR SHARE",
    "SELECT * FROM orders FOR NO KEY UPDATE",
    "SELECT * FROM orders FOR KEY SHARE",
    "SELECT * FROM orders WHERE id = 1 FOR UPDATE NOWAIT",
    # transaction control
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "SAVEPOINT s",
    "RELEASE s",
    "START TRANSACTION READ WRITE",
    "END",
    "ABORT",
    "SET TRANSACTION READ WRITE",
    # session setters
    "SET ROLE postgres",
    "SET SESSION AUTHORIZATION postgres",
    "SET default_transaction_read_only = off",
    "SET statement_timeout = 0",
    "RESET ALL",
    "PRAGMA query_only = 0",
    "PRAGMA writable_schema = ON",
    "PRAGMA journal_mode = WAL",
    # attach, copy, procedural and maintenance statements
    "ATTACH DATABASE '/tmp/evil.db' AS evil",
    "ATTACH ':memory:' AS m",
    "DETACH DATABASE main",
    "COPY customers TO '/tmp/out.csv'",
    "COPY customers TO PROGRAM 'cat > /tmp/x'",
    "COPY (SELECT 1) TO STDOUT",
    "COPY products FROM '/etc/passwd'",
    "DO $$ BEGIN DELETE FROM orders; END $$",
    "CALL do_something()",
    "PREPARE p AS DELETE FROM orders",
    "EXECUTE p",
    "DEALLOCATE ALL",
    "LOAD 'plpgsql'",
    "VACUUM",
    "VACUUM FULL customers",
    "ANALYZE customers",
    "REINDEX TABLE customers",
    "CLUSTER customers",
    "CHECKPOINT",
    "LISTEN ch",
    "NOTIFY ch, 'x'",
    "LOCK TABLE customers IN ACCESS EXCLUSIVE MODE",
    "DISCARD ALL",
    "REFRESH MATERIALIZED VIEW v",
    # EXPLAIN that runs, or explains a write
    "EXPLAIN ANALYZE DELETE FROM orders",
    "EXPLAIN (ANALYZE) SELECT * FROM orders",
    "EXPLAIN (ANALYZE true, BUFFERS) UPDATE products SET price = 0",
    "EXPLAIN DELETE FROM orders",
    # functions with side effects, file or network access, or hidden SQL
    "SELECT pg_sleep(30)",
    "SELECT PG_SLEEP(30)",
    "SELECT pg_catalog.pg_sleep(30)",
    "SELECT pg_terminate_backend(pg_backend_pid())",
    "SELECT pg_cancel_backend(1)",
    "SELECT pg_read_file('/etc/passwd')",
    "SELECT \"pg_read_file\"('/etc/passwd')",
    "SELECT pg_ls_dir('.')",
    "SELECT lo_import('/etc/passwd')",
    "SELECT lo_export(1, '/tmp/x')",
    "SELECT dblink('host=evil', 'select 1')",
    "SELECT set_config('default_transaction_read_only', 'off', false)",
    "SELECT nextval('orders_id_seq')",
    "SELECT pg_advisory_lock(1)",
    "SELECT query_to_xml('delete from orders', true, true, '')",
    "SELECT pg_reload_conf()",
    "SELECT pg_notify('c', 'x')",
    "SELECT load_extension('/tmp/evil.so')",
    "SELECT writefile('/tmp/pwn', 'x')",
    "SELECT readfile('/etc/passwd')",
    "SELECT fts3_tokenizer('simple')",
    "SELECT zeroblob(1000000000)",
    "SELECT randomblob(1000000000)",
]

# Harmless-looking or resource-heavy statements that may run: they must be stopped by the timeout or the caps, or
# be truly harmless, and change nothing.
HEAVY: list[Query] = [
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r",
    "SELECT count(*) FROM order_items a, order_items b, order_items c",
    "SELECT * FROM orders a CROSS JOIN orders b",
    "SELECT 1 -- ; DROP TABLE orders",
    "SELECT ';DROP TABLE orders'",
    "SELECT 1\uff1bDROP TABLE orders",  # a fullwidth semicolon
    {"sqlite": "SELECT printf('%.*c', 5000000, 'x')", "postgresql": "SELECT repeat('x', 5000000)"},
    {"sqlite": "SELECT 1", "postgresql": "SELECT count(*) FROM generate_series(1, 1000000000)"},
]

ADVERSARIAL: list[Query] = [*WRITES, *HEAVY]

# Real analytic work: every one must be accepted and return what the database itself returns.
LEGITIMATE: list[Query] = [
    "SELECT count(*) FROM customers",
    "SELECT count(*) FROM orders",
    "SELECT status, count(*) AS n FROM orders GROUP BY status ORDER BY n DESC, status",
    "SELECT city, state, count(*) AS customers FROM customers GROUP BY city, state ORDER BY customers DESC, city",
    "SELECT category, count(*) AS products, round(avg(price), 2) AS avg_price FROM products GROUP BY category ORDER BY category",
    "SELECT id, name, price FROM products ORDER BY price DESC, id LIMIT 10",
    "SELECT id, name FROM products WHERE category = 'Books' ORDER BY id",
    "SELECT p.category, sum(i.quantity) AS units FROM order_items i JOIN products p ON p.id = i.product_id GROUP BY p.category ORDER BY units DESC",
    "SELECT p.category, round(sum(i.quantity * i.unit_price), 2) AS revenue FROM order_items i JOIN products p ON p.id = i.product_id JOIN orders o ON o.id = i.order_id WHERE o.status <> 'cancelled' GROUP BY p.category ORDER BY revenue DESC",
    "SELECT c.id, c.first_name, c.last_name, count(o.id) AS orders FROM customers c LEFT JOIN orders o ON o.customer_id = c.id GROUP BY c.id, c.first_name, c.last_name ORDER BY orders DESC, c.id LIMIT 10",
    "SELECT c.city, count(DISTINCT o.customer_id) AS buyers FROM orders o JOIN customers c ON c.id = o.customer_id GROUP BY c.city ORDER BY buyers DESC, c.city",
    "SELECT o.id, count(*) AS lines FROM orders o JOIN order_items i ON i.order_id = o.id GROUP BY o.id HAVING count(*) >= 4 ORDER BY o.id LIMIT 20",
    "SELECT count(*) FROM customers c WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id)",
    "SELECT id, name FROM products WHERE id NOT IN (SELECT product_id FROM order_items) ORDER BY id",
    "SELECT id, name, price FROM products WHERE price > (SELECT avg(price) FROM products) ORDER BY price DESC, id LIMIT 15",
    "SELECT category, name, price FROM (SELECT category, name, price, rank() OVER (PARTITION BY category ORDER BY price DESC, id) AS r FROM products) ranked WHERE r <= 3 ORDER BY category, price DESC",
    "SELECT id, price, row_number() OVER (ORDER BY price DESC, id) AS position FROM products ORDER BY position LIMIT 10",
    "SELECT id, customer_id, ordered_at, lag(ordered_at) OVER (PARTITION BY customer_id ORDER BY ordered_at, id) AS previous FROM orders WHERE customer_id <= 3 ORDER BY customer_id, ordered_at, id",
    "SELECT customer_id, count(*) AS orders, dense_rank() OVER (ORDER BY count(*) DESC) AS tier FROM orders GROUP BY customer_id ORDER BY orders DESC, customer_id LIMIT 10",
    "SELECT id, price, sum(price) OVER (ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running FROM products ORDER BY id LIMIT 20",
    "SELECT category, price, ntile(4) OVER (PARTITION BY category ORDER BY price, id) AS quartile FROM products ORDER BY category, price, id LIMIT 30",
    "WITH spend AS (SELECT o.customer_id, sum(i.quantity * i.unit_price) AS total FROM orders o JOIN order_items i ON i.order_id = o.id GROUP BY o.customer_id) SELECT count(*) AS big_spenders FROM spend WHERE total > 5000",
    "WITH per_status AS (SELECT status, count(*) AS n FROM orders GROUP BY status) SELECT status, n, round(100.0 * n / (SELECT sum(n) FROM per_status), 1) AS pct FROM per_status ORDER BY n DESC",
    "WITH RECURSIVE numbers(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM numbers WHERE n < 10) SELECT n, n * n AS square FROM numbers ORDER BY n",
    "WITH a AS (SELECT product_id, sum(quantity) AS units FROM order_items GROUP BY product_id), b AS (SELECT id, name, category FROM products) SELECT b.category, max(a.units) AS best FROM a JOIN b ON b.id = a.product_id GROUP BY b.category ORDER BY b.category",
    "SELECT CASE WHEN price < 50 THEN 'low' WHEN price < 200 THEN 'mid' ELSE 'high' END AS band, count(*) AS n FROM products GROUP BY band ORDER BY band",
    "SELECT state, sum(CASE WHEN city = 'Seattle' THEN 1 ELSE 0 END) AS seattle FROM customers GROUP BY state ORDER BY state",
    "SELECT coalesce(nullif(status, 'placed'), 'new') AS s, count(*) AS n FROM orders GROUP BY s ORDER BY s",
    "SELECT min(price) AS cheapest, max(price) AS dearest, round(avg(price), 2) AS mean FROM products",
    "SELECT count(DISTINCT customer_id) AS buyers, count(*) AS orders FROM orders",
    "SELECT upper(category) AS c, lower(name) AS n, length(name) AS l FROM products ORDER BY id LIMIT 5",
    "SELECT name FROM products WHERE name LIKE 'Pro%' ORDER BY id",
    "SELECT id, name FROM products WHERE price BETWEEN 100 AND 150 ORDER BY id",
    "SELECT id FROM orders WHERE status IN ('returned', 'cancelled') ORDER BY id LIMIT 25",
    "SELECT substr(name, 1, 3) AS prefix, count(*) AS n FROM products GROUP BY prefix ORDER BY n DESC, prefix LIMIT 10",
    "SELECT category FROM products UNION SELECT status FROM orders ORDER BY 1",
    "SELECT customer_id FROM orders WHERE status = 'returned' INTERSECT SELECT customer_id FROM orders WHERE status = 'cancelled' ORDER BY 1 LIMIT 20",
    "SELECT id FROM products EXCEPT SELECT product_id FROM order_items ORDER BY 1",
    "VALUES (1, 'one'), (2, 'two')",
    "SELECT 1 + 1 AS two, 7 / 2 AS int_div, 7 % 3 AS remainder",
    "SELECT status, count(*) FILTER (WHERE customer_id < 100) AS early FROM orders GROUP BY status ORDER BY status",
    "SELECT o.status, round(avg(i.quantity), 3) AS avg_qty FROM orders o JOIN order_items i ON i.order_id = o.id GROUP BY o.status ORDER BY o.status",
    "SELECT p.name, i.quantity FROM products p JOIN order_items i ON i.product_id = p.id WHERE i.order_id = 42 ORDER BY p.name",
    "SELECT c.state, count(*) AS orders FROM customers c JOIN orders o ON o.customer_id = c.id WHERE c.state IN ('WA', 'OR', 'CA') GROUP BY c.state ORDER BY c.state",
    "SELECT x.category, x.units FROM (SELECT p.category, sum(i.quantity) AS units FROM products p JOIN order_items i ON i.product_id = p.id GROUP BY p.category) x WHERE x.units > 100 ORDER BY x.units DESC",
    {
        "sqlite": "SELECT strftime('%Y-%m', ordered_at) AS month, count(*) AS n FROM orders GROUP BY month ORDER BY month",
        "postgresql": "SELECT to_char(ordered_at, 'YYYY-MM') AS month, count(*) AS n FROM orders GROUP BY month ORDER BY month",
    },
    {
        "sqlite": "SELECT strftime('%Y', ordered_at) AS year, count(*) AS n FROM orders GROUP BY year ORDER BY year",
        "postgresql": "SELECT extract(year FROM ordered_at)::int AS year, count(*) AS n FROM orders GROUP BY year ORDER BY year",
    },
    {
        "sqlite": "SELECT count(*) FROM orders WHERE ordered_at >= date('2024-01-01') AND ordered_at < date('2024-01-01', '+1 month')",
        "postgresql": "SELECT count(*) FROM orders WHERE ordered_at >= date '2024-01-01' AND ordered_at < date '2024-01-01' + interval '1 month'",
    },
    {
        "sqlite": "SELECT customer_id, round(julianday(max(ordered_at)) - julianday(min(ordered_at)), 1) AS span_days FROM orders GROUP BY customer_id ORDER BY span_days DESC, customer_id LIMIT 10",
        "postgresql": "SELECT customer_id, round((extract(epoch FROM max(ordered_at) - min(ordered_at)) / 86400)::numeric, 1) AS span_days FROM orders GROUP BY customer_id ORDER BY span_days DESC, customer_id LIMIT 10",
    },
    {
        "sqlite": "SELECT CAST(strftime('%w', ordered_at) AS INTEGER) AS weekday, count(*) AS n FROM orders GROUP BY weekday ORDER BY weekday",
        "postgresql": "SELECT extract(dow FROM ordered_at)::int AS weekday, count(*) AS n FROM orders GROUP BY weekday ORDER BY weekday",
    },
    {
        "sqlite": "SELECT id, launched_on FROM products WHERE launched_on >= date('2022-06-01') ORDER BY launched_on, id LIMIT 10",
        "postgresql": "SELECT id, launched_on FROM products WHERE launched_on >= date '2022-06-01' ORDER BY launched_on, id LIMIT 10",
    },
    {
        "sqlite": "SELECT group_concat(name, ', ') AS names FROM (SELECT name FROM products WHERE category = 'Garden' ORDER BY id LIMIT 5)",
        "postgresql": "SELECT string_agg(name, ', ' ORDER BY id) AS names FROM (SELECT id, name FROM products WHERE category = 'Garden' ORDER BY id LIMIT 5) g",
    },
    {
        "sqlite": "EXPLAIN QUERY PLAN SELECT * FROM orders WHERE customer_id = 5",
        "postgresql": "EXPLAIN SELECT * FROM orders WHERE customer_id = 5",
    },
    {
        "sqlite": "EXPLAIN QUERY PLAN SELECT c.city, count(*) FROM customers c JOIN orders o ON o.customer_id = c.id GROUP BY c.city",
        "postgresql": "EXPLAIN (COSTS false) SELECT c.city, count(*) FROM customers c JOIN orders o ON o.customer_id = c.id GROUP BY c.city",
    },
    "SELECT c.first_name, c.last_name, c.city FROM customers c WHERE c.id IN (1, 2, 3) ORDER BY c.id",
]

# Attempts to get personal data out. Each may be refused or answered, but no real value may appear anywhere in a
# result or an error.
PII_ATTEMPTS: list[Query] = [
    "SELECT email FROM customers",
    "SELECT * FROM customers",
    "SELECT c.* FROM customers c",
    "SELECT email AS contact FROM customers",
    'SELECT "email" FROM "customers"',
    "SELECT email, email FROM customers",
    "SELECT e FROM (SELECT email AS e FROM customers) s",
    "WITH x AS (SELECT ssn AS id_number FROM customers) SELECT id_number FROM x",
    "SELECT upper(email) FROM customers",
    "SELECT lower(email) FROM customers",
    "SELECT substr(ssn, 1, 3) FROM customers",
    "SELECT first_name || ' ' || email FROM customers",
    "SELECT email || '' FROM customers",
    "SELECT CAST(card_number AS TEXT) FROM customers",
    "SELECT CAST(email AS INTEGER) FROM customers",
    "SELECT CAST(birth_date AS INTEGER) FROM customers",
    "SELECT replace(ssn, '-', '') FROM customers",
    "SELECT trim(phone) FROM customers",
    "SELECT reverse(ssn) FROM customers",
    "SELECT coalesce(email, phone) FROM customers",
    {
        "sqlite": "SELECT group_concat(email) FROM customers",
        "postgresql": "SELECT string_agg(email, ',') FROM customers",
    },
    {
        "sqlite": "SELECT group_concat(ssn, ';') FROM customers",
        "postgresql": "SELECT string_agg(ssn, ';') FROM customers",
    },
    {
        "sqlite": "SELECT json_group_array(email) FROM customers",
        "postgresql": "SELECT json_agg(email) FROM customers",
    },
    {
        "sqlite": "SELECT json_object('e', email) FROM customers",
        "postgresql": "SELECT json_build_object('e', email) FROM customers",
    },
    {
        "sqlite": "SELECT json_array(street_address) FROM customers",
        "postgresql": "SELECT to_jsonb(c) FROM customers c",
    },
    {
        "sqlite": "SELECT printf('%s', ssn) FROM customers",
        "postgresql": "SELECT format('%s', ssn) FROM customers",
    },
    {
        "sqlite": "SELECT hex(ssn) FROM customers",
        "postgresql": "SELECT encode(convert_to(ssn, 'UTF8'), 'hex') FROM customers",
    },
    {"sqlite": "SELECT unicode(ssn) FROM customers", "postgresql": "SELECT row_to_json(c) FROM customers c"},
    {"sqlite": "SELECT quote(card_number) FROM customers", "postgresql": "SELECT c FROM customers c"},
    {
        "sqlite": "SELECT json_group_object(id, phone) FROM customers",
        "postgresql": "SELECT ROW(c.*)::text FROM customers c",
    },
    "SELECT count(*) FROM customers WHERE ssn LIKE '1%'",
    "SELECT id FROM customers WHERE email = 'anthony.hall1@mail.test'",
    "SELECT * FROM customers WHERE email LIKE '%@%' LIMIT 1",
    "SELECT id FROM customers WHERE birth_date > '1990-01-01'",
    "SELECT id FROM customers ORDER BY ssn LIMIT 1",
    "SELECT id, email FROM customers ORDER BY email LIMIT 3",
    "SELECT email FROM customers ORDER BY 1",
    "SELECT id, email AS e FROM customers ORDER BY e LIMIT 5",
    "SELECT id, e FROM (SELECT id, email AS e FROM customers) s ORDER BY lower(e) LIMIT 5",
    "SELECT ssn, count(*) FROM customers GROUP BY ssn",
    "SELECT DISTINCT postal_code FROM customers",
    "SELECT c.id FROM customers c JOIN customers d ON c.email = d.email",
    "SELECT name FROM products UNION SELECT email FROM customers",
    "SELECT name FROM products UNION ALL SELECT street_address FROM customers",
    "SELECT x.e FROM (SELECT email AS e FROM customers UNION SELECT email FROM customers) x",
    "SELECT (SELECT ssn FROM customers LIMIT 1) AS s",
    "VALUES ((SELECT email FROM customers LIMIT 1))",
    "SELECT CASE WHEN ssn LIKE '5%' THEN 1 ELSE 0 END FROM customers",
    "SELECT max(birth_date) FROM customers",
    "SELECT min(card_number) FROM customers",
    "SELECT length(email) FROM customers",
    "SELECT count(DISTINCT email) FROM customers",
    "SELECT lag(email) OVER (ORDER BY id) FROM customers",
    "SELECT first_value(ssn) OVER () FROM customers",
    "SELECT query_to_xml('select * from customers', true, true, '')",
    "SELECT table_to_xml('customers', true, true, '')",
    "SELECT email FROM customers c WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id) LIMIT 5",
    "EXPLAIN SELECT email FROM customers WHERE id = 1",
]


# Statements that run for hours, sent as the first call of a session (where the time limit used to be lost) and
# after others: each must be stopped at the limit, and the next call answered.
FIRST_STATEMENT_HANGS: dict[str, list[str]] = {
    "sqlite": [
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r",
        "SELECT count(*) FROM order_items a, order_items b, order_items c, order_items d",
        "SELECT count(*) FROM page_views a JOIN page_views b ON a.referrer <> b.referrer;",
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 1e12) SELECT max(n) FROM r;",
        "SELECT sum(length(a.name || b.name)) FROM products a, products b, products c, products d, products e",
    ],
    "postgresql": [
        "SELECT count(*) FROM generate_series(1, 1e12::bigint)",
        "SELECT count(*) FROM generate_series(1, 1e12::bigint);",
        "-- how many?\nSELECT count(*) FROM generate_series(1, 1e12::bigint) g;  ",
        "SELECT count(*) FROM order_items a, order_items b, order_items c, order_items d",
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r;",
        "SELECT count(*) FROM page_views a JOIN page_views b ON a.referrer <> b.referrer",
        "SELECT sum(length(a.name || b.name)) FROM products a, products b, products c, products d, products e",
        "SELECT max(md5(g::text)) FROM generate_series(1, 1e10::bigint) g",
    ],
}

# Statement text as models write it: every one answered (products has 100 rows).
SEMICOLONS: list[str] = [
    "SELECT count(*) AS n FROM products;",
    "SELECT count(*) AS n FROM products ;  \n",
    "SELECT count(*) AS n FROM products; -- all of them\n",
    "SELECT count(*) AS n FROM products; /* done */",
    "SELECT count(*) AS n FROM products;\n-- the end",
    "-- how many products?\nSELECT count(*) AS n FROM products;",
    "/* count */ SELECT count(*) AS n FROM products -- no semicolon",
    "\n\tSELECT count(*) AS n\nFROM products\n;\n\n",
    "SELECT count(*) AS n FROM products;;",
    "WITH p AS (SELECT id FROM products) SELECT count(*) AS n FROM p;",
    "SELECT count(*) AS n FROM (SELECT id FROM products) p -- trailing comment, no newline",
]
# ... and two statements, however separated, still refused.
STACKED: list[str] = [
    "SELECT 1; SELECT 2",
    "SELECT 1; -- x\nSELECT 2;",
    "SELECT 1;/* */;SELECT 2",
    "SELECT count(*) FROM products; DROP TABLE products;",
    "-- one\nSELECT 1;\n-- two\nDELETE FROM orders;",
]

# Schema discovery as models and tools-only clients do it: every one answered, naming the shop's tables.
DISCOVERY: list[Query] = [
    {
        "sqlite": "SELECT name FROM sqlite_master WHERE type = 'table'",
        "postgresql": "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
    },
    {
        "sqlite": "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name;",
        "postgresql": "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename;",
    },
    {
        "sqlite": "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'",
        "postgresql": "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')",
    },
    {
        "sqlite": "SELECT * FROM pragma_table_info('customers')",
        "postgresql": "SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns WHERE table_name = 'customers' ORDER BY ordinal_position",
    },
    {
        "sqlite": "SELECT name, type, pk FROM pragma_table_info('orders') ORDER BY cid",
        "postgresql": "SELECT * FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'orders'",
    },
    {
        "sqlite": "SELECT m.name AS table_name, p.name AS column_name, p.type FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' ORDER BY 1, p.cid",
        "postgresql": "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
    },
    {
        "sqlite": "SELECT * FROM pragma_index_list('orders')",
        "postgresql": "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'orders'",
    },
    {
        "sqlite": "SELECT * FROM pragma_foreign_key_list('order_items')",
        "postgresql": "SELECT * FROM information_schema.referential_constraints",
    },
    {
        "sqlite": "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'orders'",
        "postgresql": "SELECT * FROM pg_indexes WHERE schemaname = 'public'",
    },
    {
        "sqlite": "SELECT name FROM sqlite_master WHERE type = 'view'",
        "postgresql": "SELECT table_name, view_definition FROM information_schema.views WHERE table_schema = 'public'",
    },
    {
        "sqlite": "SELECT name FROM pragma_index_info('orders_customer_id')",
        "postgresql": "SELECT viewname, definition FROM pg_views WHERE schemaname = 'public'",
    },
    {
        "sqlite": "SELECT * FROM pragma_table_xinfo('products')",
        "postgresql": "SELECT constraint_name, table_name, constraint_type FROM information_schema.table_constraints WHERE table_schema = 'public' ORDER BY table_name, constraint_name",
    },
    {
        "sqlite": 'SELECT "from", "table", "to" FROM pragma_foreign_key_list(\'orders\')',
        "postgresql": "SELECT kcu.table_name, kcu.column_name, ccu.table_name AS references_table, ccu.column_name AS references_column FROM information_schema.table_constraints tc JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = tc.constraint_name JOIN information_schema.constraint_column_usage ccu ON ccu.constraint_name = tc.constraint_name WHERE tc.constraint_type = 'FOREIGN KEY'",
    },
    {
        "sqlite": "-- which tables are there?\nSELECT name FROM sqlite_master WHERE type = 'table';  -- done",
        "postgresql": "-- which tables are there?\nSELECT table_name FROM information_schema.tables WHERE table_schema = 'public';  -- done",
    },
    {
        "sqlite": "SELECT count(*) AS columns FROM pragma_table_info('customers')",
        "postgresql": "SELECT count(*) AS columns FROM information_schema.columns WHERE table_name = 'customers'",
    },
    {
        "sqlite": "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%order%'",
        "postgresql": "SELECT table_name FROM information_schema.tables WHERE table_name LIKE '%order%'",
    },
    {
        "sqlite": "SELECT c.email, m.name FROM customers c, sqlite_master m WHERE m.type = 'table' LIMIT 3",
        "postgresql": "SELECT c.email, t.table_name FROM customers c CROSS JOIN information_schema.tables t WHERE t.table_schema = 'public' LIMIT 3",
    },
]

# Facts about the server, its roles and their passwords, other databases: refused on both engines, whatever
# catalog or function they are asked of.
SERVER_CATALOGS: list[Query] = [
    "SELECT * FROM pg_roles",
    "SELECT rolname, rolpassword FROM pg_authid",
    "SELECT usename, passwd FROM pg_shadow",
    "SELECT * FROM pg_user",
    "SELECT rolname FROM pg_catalog.pg_roles WHERE rolsuper",
    "SELECT * FROM pg_catalog.pg_authid",
    'SELECT * FROM "pg_authid"',
    "SELECT name, setting FROM pg_settings",
    "SELECT current_setting('data_directory')",
    "SELECT current_setting('hba_file')",
    "SELECT version()",
    "SELECT pg_read_file('postgresql.conf')",
    "SELECT * FROM pg_ls_dir('.')",
    "SELECT * FROM pg_stat_activity",
    "SELECT datname, xact_commit FROM pg_stat_database",
    "SELECT * FROM pg_stat_user_tables",
    "SELECT * FROM pg_stats WHERE tablename = 'customers'",
    "SELECT most_common_vals FROM pg_catalog.pg_stats",
    "SELECT * FROM pg_database",
    "SELECT * FROM pg_hba_file_rules",
    "SELECT * FROM pg_file_settings",
    "SELECT * FROM pg_user_mappings",
    "SELECT tableowner FROM pg_tables",
    "SELECT * FROM pg_tables",
    "SELECT viewowner FROM pg_views",
    "SELECT * FROM information_schema.schemata",
    "SELECT * FROM information_schema.enabled_roles",
    "SELECT * FROM information_schema.applicable_roles",
    "SELECT * FROM information_schema.table_privileges",
    "SELECT * FROM information_schema.role_table_grants",
    "SELECT * FROM information_schema.sql_implementation_info",
    "SELECT * FROM information_schema.user_mappings",
    "SELECT relname, relacl FROM pg_class",
    "SELECT * FROM pg_catalog.pg_statistic",
    "SELECT pg_get_userbyid(10)",
    "SELECT pg_has_role('postgres', 'MEMBER')",
    "SELECT table_name FROM information_schema.tables WHERE table_name IN (SELECT rolname FROM pg_authid)",
    "SELECT sqlite_version()",
    "SELECT sqlite_source_id()",
    "SELECT * FROM pragma_database_list",
    "SELECT * FROM pragma_compile_options",
    "SELECT * FROM sqlite_stat1",
    "SELECT * FROM sqlite_sequence",
    "SELECT * FROM pragma_table_info('sqlite_master')",
    "SELECT * FROM pragma_function_list",
]


def variant(query: Query, dialect: str) -> str:
    return query if isinstance(query, str) else query[dialect]


def leaked(text: str, values: set[str]) -> set[str]:
    """The personal values found in a result or message: whole cells, long substrings, or their digits."""
    cells = set(re.findall(r'"((?:[^"\\]|\\.)*)"', text)) | set(re.findall(r"[\w.@()+ -]{5,}", text))
    found = {v for v in values if len(v) >= 5 and (v in cells or (len(v) >= 9 and v in text))}
    digits = re.sub(r"\D", "", text)
    found |= {v for v in values if len(re.sub(r"\D", "", v)) >= 9 and re.sub(r"\D", "", v) in digits}
    return found
