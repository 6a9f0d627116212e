"""Rich test databases and fingerprints to compare them after a backup/restore round trip.

``build_rich_pg(name)`` / ``build_rich_my(name)`` fill an existing empty database with a bit of
everything a real schema has; ``pg_fingerprint(name)`` / ``my_fingerprint(name)`` describe a
database (schema objects, a sha256 of every table's rows in a deterministic order, sequence
and AUTO_INCREMENT values) so that two databases compare equal with ``==`` exactly when the
restore reproduced the original. ``*_row_counts`` help schema-only assertions.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
from typing import Any, LiteralString, cast

from tests.support.dbs import my_connect, pg_connect

# --- PostgreSQL ---------------------------------------------------------------------------------

_PG_SCHEMA = r"""
CREATE SCHEMA sales;
CREATE SCHEMA "Weird Schema";
COMMENT ON SCHEMA sales IS 'Orders and customers';

CREATE TYPE sales.status AS ENUM ('new', 'paid', 'shipped', 'cancelled', 'ça va');
CREATE DOMAIN sales.positive_money AS numeric(14, 2) CHECK (VALUE >= 0);

CREATE SEQUENCE sales.invoice_no START 1000 INCREMENT 7 MAXVALUE 9999999999999;

CREATE TABLE sales.customers (
    id bigint GENERATED ALWAYS AS IDENTITY (START WITH 100 INCREMENT BY 3) PRIMARY KEY,
    email text NOT NULL UNIQUE,
    name text,
    tags text[],
    meta jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    balance numeric(12, 4) DEFAULT 0,
    updated_at timestamptz
);
COMMENT ON TABLE sales.customers IS 'People who buy things';
COMMENT ON COLUMN sales.customers.email IS 'Lower-cased by a trigger';

CREATE TABLE sales.orders (
    id serial PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES sales.customers (id) ON DELETE CASCADE,
    status sales.status NOT NULL DEFAULT 'new',
    invoice bigint DEFAULT nextval('sales.invoice_no'),
    total sales.positive_money,
    placed_at timestamptz,
    lead_time interval,
    ref uuid UNIQUE,
    doc json,
    notes text,
    CONSTRAINT total_reasonable CHECK (total < 1000000)
);
CREATE INDEX orders_customer_idx ON sales.orders (customer_id);
CREATE INDEX orders_open_idx ON sales.orders (placed_at) WHERE status IN ('new', 'paid');
CREATE INDEX customers_lower_name_idx ON sales.customers (lower(name));
CREATE INDEX customers_meta_gin ON sales.customers USING gin (meta);

CREATE TABLE public.blobs (
    id int PRIMARY KEY,
    data bytea,
    matrix int[][],
    f double precision,
    r real,
    b boolean,
    d date,
    t time,
    ts timestamp,
    bits bit varying(16),
    net inet,
    big numeric
);

CREATE TABLE "Weird Schema"."café_ü" (
    "ñame" text PRIMARY KEY,
    "Größe" double precision,
    "select" int,
    "Mixed Case" text DEFAULT 'x"y''z'
);

CREATE TABLE public.order_lines (
    order_id int NOT NULL REFERENCES sales.orders (id),
    line_no smallint NOT NULL,
    product text NOT NULL,
    qty int NOT NULL DEFAULT 1 CHECK (qty > 0),
    PRIMARY KEY (order_id, line_no)
);

CREATE VIEW sales.customer_totals AS
    SELECT c.id, c.email, count(o.id) AS orders, coalesce(sum(o.total), 0) AS total
    FROM sales.customers c LEFT JOIN sales.orders o ON o.customer_id = c.id
    GROUP BY c.id, c.email;

CREATE MATERIALIZED VIEW sales.status_counts AS
    SELECT status, count(*) AS n FROM sales.orders GROUP BY status;
CREATE UNIQUE INDEX status_counts_status ON sales.status_counts (status);

CREATE FUNCTION sales.normalize_email() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.email := lower(NEW.email);
    RETURN NEW;
END;
$$;
CREATE TRIGGER customers_normalize BEFORE INSERT OR UPDATE OF email ON sales.customers
    FOR EACH ROW EXECUTE FUNCTION sales.normalize_email();

CREATE FUNCTION sales.touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;
CREATE TRIGGER customers_touch BEFORE UPDATE ON sales.customers
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION sales.touch();

CREATE FUNCTION sales.order_total(p_customer bigint) RETURNS numeric
    LANGUAGE sql STABLE AS $$ SELECT coalesce(sum(total), 0) FROM sales.orders
                              WHERE customer_id = p_customer $$;

CREATE PROCEDURE sales.cancel_order(p_id int) LANGUAGE plpgsql AS $$
BEGIN
    UPDATE sales.orders SET status = 'cancelled' WHERE id = p_id;
END;
$$;
"""

_PG_DATA = r"""
INSERT INTO sales.customers (email, name, tags, meta, created_at, balance) VALUES
    ('Alice@Example.com', 'Alice', '{a,b,"c d"}', '{"vip": true, "n": [1, 2, 3]}',
     '2024-01-02 03:04:05.678901+02', 12.3456),
    ('bob@example.com', NULL, '{}', NULL, '1999-12-31 23:59:59+00', -0.0001),
    ('zoë@exämple.com', 'Zoë 🚀', ARRAY[NULL, 'x']::text[], '{"nested": {"k": "v\"q"}}',
     '2038-01-19 03:14:08+00', NULL);
INSERT INTO sales.orders (customer_id, status, total, placed_at, lead_time, ref, doc, notes)
SELECT c.id, s.status::sales.status, s.total, s.placed_at::timestamptz, s.lead_time::interval,
       s.ref::uuid, s.doc::json, s.notes
FROM (VALUES
    ('alice@example.com', 'paid', 10.50, '2024-05-01 10:00+00', '1 day 02:03:04',
     'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": 1,  "b":[true,null]}', 'first'),
    ('alice@example.com', 'ça va', 0, NULL, '-3 months', NULL, NULL, E'tab\there\nnewline'),
    ('bob@example.com', 'new', 999999.99, '2024-02-29 23:59:59.999999+00', NULL,
     'b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12', '[]', 'quote '' and backslash \\')
) AS s (email, status, total, placed_at, lead_time, ref, doc, notes)
JOIN sales.customers c ON c.email = s.email;
INSERT INTO public.order_lines (order_id, line_no, product, qty)
SELECT o.id, g, 'product ' || g, g FROM sales.orders o, generate_series(1, 3) g;
INSERT INTO public.blobs (id, data, matrix, f, r, b, d, t, ts, bits, net, big) VALUES
    (1, (SELECT string_agg(set_byte('\x00'::bytea, 0, i), ''::bytea ORDER BY i)
         FROM generate_series(0, 255) i),
     '{{1,2},{3,4}}', 'Infinity', -1.5e-10, true, '0001-01-01', '23:59:59.999999',
     '2000-02-29 12:00', B'1010', '192.168.0.1/24', 123456789012345678901234567890.123456789),
    (2, '\x', NULL, 'NaN', 0, false, 'infinity', '00:00', '-infinity', B'', '::1', -0.5),
    (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    (4, '\x00ff00', '{{NULL,5}}', 3.141592653589793, 2.5, NULL, '2024-02-29', '12:34:56',
     '1970-01-01 00:00:00', B'1111000011110000', '2001:db8::/32', 1e-20);
INSERT INTO "Weird Schema"."café_ü" ("ñame", "Größe", "select") VALUES
    ('éèê', 1.5, 1), ('日本語', -0.0, NULL), ('', NULL, 0), ('emoji 🎉', 1e300, 42);
SELECT setval('sales.invoice_no', 123456789, true);
SELECT setval('sales.orders_id_seq', 500, false);
REFRESH MATERIALIZED VIEW sales.status_counts;
"""


def build_rich_pg(dbname: str) -> None:
    """Create the rich PostgreSQL schema and data in the existing, empty database `dbname`."""
    with pg_connect(dbname) as conn:
        conn.execute(_PG_SCHEMA)  # type: ignore[arg-type]
        conn.execute(_PG_DATA)  # type: ignore[arg-type]


_PG_USER_NS = (
    "n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')"
    " AND n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast_temp%'"
)

_PG_SCHEMA_QUERIES: dict[str, str] = {
    "schemas": f"""
        SELECT n.nspname, obj_description(n.oid, 'pg_namespace') FROM pg_namespace n
        WHERE {_PG_USER_NS} ORDER BY 1""",
    "relations": f"""
        SELECT n.nspname, c.relname, c.relkind::text, obj_description(c.oid, 'pg_class')
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {_PG_USER_NS} AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'i', 'f')
        ORDER BY 1, 2""",
    "columns": f"""
        SELECT n.nspname, c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod),
               a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity::text,
               a.attgenerated::text, col_description(c.oid, a.attnum)
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE {_PG_USER_NS} AND a.attnum > 0 AND NOT a.attisdropped
          AND c.relkind IN ('r', 'p', 'v', 'm')
        ORDER BY 1, 2, 3""",
    "constraints": f"""
        SELECT n.nspname, c.conrelid::regclass::text, c.contypid::regtype::text, c.conname,
               c.contype::text, pg_get_constraintdef(c.oid)
        FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
        WHERE {_PG_USER_NS} ORDER BY 1, 2, 3, 4""",
    "indexes": """
        SELECT schemaname, tablename, indexname, indexdef FROM pg_indexes
        WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2, 3""",
    "views": """
        SELECT schemaname, viewname, definition FROM pg_views
        WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2""",
    "matviews": """
        SELECT schemaname, matviewname, definition, ispopulated FROM pg_matviews
        ORDER BY 1, 2""",
    "routines": f"""
        SELECT n.nspname, p.proname, p.prokind::text, pg_get_function_identity_arguments(p.oid),
               pg_get_functiondef(p.oid)
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE {_PG_USER_NS} ORDER BY 1, 2, 4""",
    "triggers": """
        SELECT t.tgrelid::regclass::text, t.tgname, pg_get_triggerdef(t.oid), t.tgenabled::text
        FROM pg_trigger t WHERE NOT t.tgisinternal ORDER BY 1, 2""",
    "enums": f"""
        SELECT n.nspname, t.typname, e.enumsortorder::text, e.enumlabel
        FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid
        JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE {_PG_USER_NS} ORDER BY 1, 2, 3""",
    "domains": f"""
        SELECT n.nspname, t.typname, format_type(t.typbasetype, t.typtypmod), t.typnotnull
        FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE {_PG_USER_NS} AND t.typtype = 'd' ORDER BY 1, 2""",
    "sequences": """
        SELECT schemaname, sequencename, data_type::text, start_value, min_value, max_value,
               increment_by, cycle, last_value
        FROM pg_sequences ORDER BY 1, 2""",
}


def _sql(text: str) -> LiteralString:
    # Identifiers below come from the catalog and are quoted; psycopg wants a LiteralString.
    return cast(LiteralString, text)


def _pg_quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _digest_text_rows(rows: list[str]) -> str:
    digest = hashlib.sha256()
    for row in sorted(rows):
        digest.update(row.encode("utf-8", errors="surrogatepass"))
        digest.update(b"\x00\n")
    return f"{len(rows)}:{digest.hexdigest()}"


def pg_tables(dbname: str) -> list[tuple[str, str]]:
    """Ordinary and partitioned tables (and populated matviews) of `dbname` as (schema, name)."""
    with pg_connect(dbname) as conn:
        rows = conn.execute(
            f"""SELECT n.nspname, c.relname FROM pg_class c
                JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE {_PG_USER_NS} AND (c.relkind IN ('r', 'p')
                      OR (c.relkind = 'm' AND c.relispopulated))
                ORDER BY 1, 2"""  # type: ignore[arg-type]
        ).fetchall()
    return [(str(r[0]), str(r[1])) for r in rows]


def pg_row_counts(dbname: str) -> dict[str, int]:
    """Row count of every table of `dbname`, keyed ``schema.table``."""
    counts: dict[str, int] = {}
    with pg_connect(dbname) as conn:
        for schema, table in pg_tables(dbname):
            row = conn.execute(
                _sql(f"SELECT count(*) FROM {_pg_quote(schema)}.{_pg_quote(table)}")
            ).fetchone()
            assert row is not None
            counts[f"{schema}.{table}"] = int(str(row[0]))
    return counts


def pg_fingerprint(dbname: str) -> dict[str, Any]:
    """Schema description, per-table row digests and sequence values of PostgreSQL `dbname`."""
    result: dict[str, Any] = {}
    with pg_connect(dbname) as conn:
        # Text renderings of timestamps and floats depend on these; pin them.
        conn.execute("SET TimeZone = 'UTC'")
        conn.execute("SET extra_float_digits = 3")
        conn.execute("SET DateStyle = 'ISO, YMD'")
        conn.execute("SET IntervalStyle = 'postgres'")
        conn.execute("SET bytea_output = 'hex'")
        for key, sql in _PG_SCHEMA_QUERIES.items():
            result[key] = [tuple(row) for row in conn.execute(sql).fetchall()]  # type: ignore[arg-type]
        digests: dict[str, str] = {}
        for schema, table in pg_tables(dbname):
            rows = conn.execute(
                _sql(f"SELECT t::text FROM {_pg_quote(schema)}.{_pg_quote(table)} AS t")
            ).fetchall()
            digests[f"{schema}.{table}"] = _digest_text_rows([str(r[0]) for r in rows])
        result["rows"] = digests
    return result


# --- MariaDB / MySQL -----------------------------------------------------------------------------

_MY_STATEMENTS: list[str] = [
    """CREATE TABLE customers (
        id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
        email VARCHAR(190) NOT NULL,
        name VARCHAR(100) NULL DEFAULT NULL COMMENT 'display name; may be NULL',
        status ENUM('new', 'active', 'banned', 'ça va') NOT NULL DEFAULT 'new',
        flags SET('a', 'b', 'c') DEFAULT 'a,c',
        meta JSON,
        created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
        balance DECIMAL(12, 4) DEFAULT '0.0000',
        UNIQUE KEY uq_email (email),
        KEY idx_name (name(20))
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
      COMMENT='People who buy things'""",
    """CREATE TABLE orders (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
        customer_id INT NOT NULL,
        amount DECIMAL(14, 2) NOT NULL CHECK (amount >= 0),
        note TEXT,
        placed DATE,
        ts TIMESTAMP NULL DEFAULT NULL,
        KEY idx_customer (customer_id, placed),
        CONSTRAINT fk_orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id)
            ON DELETE CASCADE ON UPDATE RESTRICT
    ) ENGINE=InnoDB AUTO_INCREMENT=1000 DEFAULT CHARSET=utf8mb4""",
    """CREATE TABLE blobs (
        id INT PRIMARY KEY,
        data LONGBLOB,
        small VARBINARY(16),
        bits BIT(8),
        f DOUBLE,
        r FLOAT,
        t TIME(3),
        y YEAR,
        txt LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin
    ) ENGINE=InnoDB""",
    """CREATE TABLE `café_ü` (
        `ñame` VARCHAR(50) NOT NULL PRIMARY KEY,
        `Größe` INT DEFAULT 7,
        `select` VARCHAR(10) DEFAULT 'x"y''z'
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
    """CREATE TABLE counters (
        id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
        label VARCHAR(20)
    ) ENGINE=MyISAM AUTO_INCREMENT=777""",
    """CREATE VIEW customer_totals AS
        SELECT c.id, c.email, COUNT(o.id) AS orders, COALESCE(SUM(o.amount), 0) AS total
        FROM customers c LEFT JOIN orders o ON o.customer_id = c.id GROUP BY c.id, c.email""",
    """CREATE TRIGGER customers_normalize BEFORE INSERT ON customers
        FOR EACH ROW SET NEW.email = LOWER(NEW.email)""",
    """CREATE TRIGGER orders_round BEFORE UPDATE ON orders
        FOR EACH ROW BEGIN
            IF NEW.amount < 0 THEN SET NEW.amount = 0; END IF;
        END""",
    """CREATE FUNCTION order_total(p_customer INT) RETURNS DECIMAL(14, 2)
        READS SQL DATA DETERMINISTIC
        BEGIN
            DECLARE v DECIMAL(14, 2);
            SELECT COALESCE(SUM(amount), 0) INTO v FROM orders WHERE customer_id = p_customer;
            RETURN v;
        END""",
    """CREATE PROCEDURE bump_balance(IN p_id INT, IN p_delta DECIMAL(12, 4))
        MODIFIES SQL DATA
        BEGIN
            UPDATE customers SET balance = balance + p_delta WHERE id = p_id;
        END""",
    """CREATE EVENT purge_cancelled ON SCHEDULE EVERY 1 DAY STARTS '2031-01-01 00:00:00'
        ON COMPLETION PRESERVE DISABLE COMMENT 'nightly; disabled in tests'
        DO DELETE FROM orders WHERE amount = 0""",
    # Data.
    """INSERT INTO customers (email, name, status, flags, meta, created_at, balance) VALUES
        ('Alice@Example.com', 'Alice', 'active', 'a,b', '{"vip": true, "n": [1, 2, 3]}',
         '2024-01-02 03:04:05.678901', 12.3456),
        ('bob@example.com', NULL, 'new', '', NULL, '1999-12-31 23:59:59', -0.0001),
        ('zoë@exämple.com', 'Zoë 🚀', 'ça va', NULL, '{"k": "v\\\\"q"}',
         '2038-01-19 03:14:08', NULL)""",
    """INSERT INTO orders (customer_id, amount, note, placed, ts)
        SELECT id, 10.50, 'first\\ttab\\nnewline', '2024-05-01', '2024-05-01 10:00:00'
        FROM customers WHERE email = 'alice@example.com'""",
    """INSERT INTO orders (customer_id, amount, note, placed, ts)
        SELECT id, 999999.99, 'quote '' and backslash \\\\ ;', NULL, NULL
        FROM customers WHERE email = 'bob@example.com'""",
    """INSERT INTO blobs (id, data, small, bits, f, r, t, y, txt) VALUES
        (1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
        (2, '', '', b'0', 0, 0, '00:00:00', 1901, ''),
        (3, 0x00ff00, 0x0102, b'10101010', 3.141592653589793, 2.5, '838:59:59.999', 2155,
         'line1\\nline2;\\n-- not a comment\\nDELIMITER ;;')""",
    "UPDATE blobs SET data = (SELECT ALL_BYTES) WHERE id = 1",
    """INSERT INTO `café_ü` (`ñame`, `Größe`) VALUES ('éèê', 1), ('日本語', NULL), ('', 0),
        ('emoji 🎉', 42)""",
    "INSERT INTO counters (label) VALUES ('one'), ('two')",
    "ALTER TABLE customers AUTO_INCREMENT = 5000",
    "ALTER TABLE counters AUTO_INCREMENT = 9000",
]


def _all_bytes_expr() -> str:
    return "0x" + bytes(range(256)).hex()


def build_rich_my(dbname: str) -> None:
    """Create the rich MariaDB schema and data in the existing, empty database `dbname`."""
    conn = my_connect(dbname)
    try:
        with conn.cursor() as cur:
            cur.execute("SET SESSION sql_mode = 'STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION'")
            cur.execute("SET SESSION time_zone = '+00:00'")
            for statement in _MY_STATEMENTS:
                cur.execute(statement.replace("(SELECT ALL_BYTES)", _all_bytes_expr()))
    finally:
        conn.close()


_MY_SCHEMA_QUERIES: dict[str, str] = {
    "tables": """
        SELECT TABLE_NAME, TABLE_TYPE, ENGINE, TABLE_COLLATION, TABLE_COMMENT, AUTO_INCREMENT
        FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME""",
    "columns": """
        SELECT TABLE_NAME, ORDINAL_POSITION, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE,
               COLUMN_DEFAULT, EXTRA, CHARACTER_SET_NAME, COLLATION_NAME, COLUMN_COMMENT
        FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s
        ORDER BY TABLE_NAME, ORDINAL_POSITION""",
    "constraints": """
        SELECT TABLE_NAME, CONSTRAINT_NAME, CONSTRAINT_TYPE
        FROM information_schema.TABLE_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = %s
        ORDER BY TABLE_NAME, CONSTRAINT_NAME, CONSTRAINT_TYPE""",
    "checks": """
        SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE
        FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = %s
        ORDER BY TABLE_NAME, CONSTRAINT_NAME""",
    "foreign_keys": """
        SELECT r.TABLE_NAME, r.CONSTRAINT_NAME, r.REFERENCED_TABLE_NAME, r.UPDATE_RULE,
               r.DELETE_RULE, k.COLUMN_NAME, k.REFERENCED_COLUMN_NAME, k.ORDINAL_POSITION
        FROM information_schema.REFERENTIAL_CONSTRAINTS r
        JOIN information_schema.KEY_COLUMN_USAGE k
          ON k.CONSTRAINT_SCHEMA = r.CONSTRAINT_SCHEMA AND k.CONSTRAINT_NAME = r.CONSTRAINT_NAME
         AND k.TABLE_NAME = r.TABLE_NAME
        WHERE r.CONSTRAINT_SCHEMA = %s
        ORDER BY r.TABLE_NAME, r.CONSTRAINT_NAME, k.ORDINAL_POSITION""",
    "indexes": """
        SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME, SUB_PART,
               INDEX_TYPE, NULLABLE
        FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %s
        ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX""",
    "views": """
        SELECT TABLE_NAME, VIEW_DEFINITION, CHECK_OPTION, IS_UPDATABLE, SECURITY_TYPE
        FROM information_schema.VIEWS WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME""",
    "routines": """
        SELECT ROUTINE_NAME, ROUTINE_TYPE, DTD_IDENTIFIER, ROUTINE_DEFINITION, IS_DETERMINISTIC,
               SQL_DATA_ACCESS, SECURITY_TYPE, SQL_MODE, ROUTINE_COMMENT
        FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = %s
        ORDER BY ROUTINE_TYPE, ROUTINE_NAME""",
    "parameters": """
        SELECT SPECIFIC_NAME, ORDINAL_POSITION, PARAMETER_MODE, PARAMETER_NAME, DTD_IDENTIFIER
        FROM information_schema.PARAMETERS WHERE SPECIFIC_SCHEMA = %s
        ORDER BY SPECIFIC_NAME, ORDINAL_POSITION""",
    "triggers": """
        SELECT TRIGGER_NAME, EVENT_MANIPULATION, EVENT_OBJECT_TABLE, ACTION_TIMING,
               ACTION_STATEMENT, ACTION_ORDER, SQL_MODE
        FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s ORDER BY TRIGGER_NAME""",
    "events": """
        SELECT EVENT_NAME, EVENT_DEFINITION, EVENT_TYPE, INTERVAL_VALUE, INTERVAL_FIELD,
               STARTS, ON_COMPLETION, STATUS, EVENT_COMMENT, SQL_MODE
        FROM information_schema.EVENTS WHERE EVENT_SCHEMA = %s ORDER BY EVENT_NAME""",
}


def _my_value(value: object) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return f"td:{value.total_seconds()!r}"
    if isinstance(value, decimal.Decimal | float | int):
        return repr(value)
    return f"s:{value}"


def _my_quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def my_tables(dbname: str) -> list[str]:
    """Base tables of MariaDB database `dbname`."""
    conn = my_connect(dbname)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT TABLE_NAME FROM information_schema.TABLES"
                " WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1",
                (dbname,),
            )
            return [str(r[0]) for r in cur.fetchall()]
    finally:
        conn.close()


def my_row_counts(dbname: str) -> dict[str, int]:
    """Row count of every base table of `dbname`."""
    conn = my_connect(dbname)
    try:
        counts: dict[str, int] = {}
        with conn.cursor() as cur:
            for table in my_tables(dbname):
                cur.execute(f"SELECT COUNT(*) FROM {_my_quote(table)}")
                row = cur.fetchone()
                assert row is not None
                counts[table] = int(row[0])
        return counts
    finally:
        conn.close()


def my_fingerprint(dbname: str) -> dict[str, Any]:
    """Schema description, per-table row digests and AUTO_INCREMENT values of `dbname`.

    Views' definitions name their database; it is replaced by ``<db>`` so that a restore into
    another database compares equal.
    """
    result: dict[str, Any] = {}
    conn = my_connect(dbname)
    try:
        with conn.cursor() as cur:
            cur.execute("SET SESSION time_zone = '+00:00'")
            for key, sql in _MY_SCHEMA_QUERIES.items():
                cur.execute(sql, (dbname,))
                rows: list[tuple[str, ...]] = []
                for row in cur.fetchall():
                    rendered = tuple(_my_value(v).replace(_my_quote(dbname), "<db>") for v in row)
                    rows.append(rendered)
                result[key] = rows
            digests: dict[str, str] = {}
            for table in my_tables(dbname):
                cur.execute(f"SELECT * FROM {_my_quote(table)}")
                texts = ["\x1f".join(_my_value(v) for v in row) for row in cur.fetchall()]
                digests[table] = _digest_text_rows(texts)
            result["rows"] = digests
    finally:
        conn.close()
    return result
