"""The rich MariaDB/MySQL test database and its fingerprint (see tests/support/richdb.py)."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from tests.support.dbs import my_connect
from tests.support.richdb_pg import digest_text_rows

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
                digests[table] = digest_text_rows(texts)
            result["rows"] = digests
    finally:
        conn.close()
    return result
