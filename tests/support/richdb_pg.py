"""The rich PostgreSQL test database and its fingerprint (see tests/support/richdb.py)."""

from __future__ import annotations

import hashlib
from typing import Any, LiteralString, cast

from tests.support.dbs import pg_connect

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


def digest_text_rows(rows: list[str]) -> str:
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
            digests[f"{schema}.{table}"] = digest_text_rows([str(r[0]) for r in rows])
        result["rows"] = digests
    return result
