"""The bench databases' table and batch-insert SQL (see :mod:`scripts.bench`): one ``events``
table per engine, filled ``BATCH_ROWS`` at a time (``{start}``/``{end}`` are row ids)."""

PG_TABLE = """
CREATE TABLE IF NOT EXISTS events (
    id bigint PRIMARY KEY,
    account_id integer NOT NULL,
    kind text NOT NULL,
    created_at timestamptz NOT NULL,
    amount numeric(12,2),
    payload jsonb,
    note text
);
CREATE INDEX IF NOT EXISTS events_account ON events (account_id);
"""
PG_BATCH = """
INSERT INTO events
SELECT g, (g * 7919) % 100000, (ARRAY['login','purchase','refund','view'])[1 + g % 4],
       timestamptz '2025-01-01' + g * interval '1 second', (g % 100000) / 100.0,
       jsonb_build_object('ip', '10.' || g % 255 || '.' || g % 7 || '.1', 'ua', md5(g::text),
                          'n', g % 1000),
       CASE WHEN g % 10 = 0 THEN NULL ELSE md5(g::text) || ' ' || md5((g * 31)::text) END
FROM generate_series({start}::bigint, {end}::bigint) AS g;
"""
MY_TABLE = """
CREATE TABLE IF NOT EXISTS events (
    id bigint PRIMARY KEY,
    account_id int NOT NULL,
    kind varchar(16) NOT NULL,
    created_at datetime NOT NULL,
    amount decimal(12,2),
    payload json,
    note text,
    KEY events_account (account_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
"""
MY_BATCH = """
INSERT INTO events
SELECT seq, (seq * 7919) % 100000, ELT(1 + seq % 4, 'login','purchase','refund','view'),
       '2025-01-01' + INTERVAL seq SECOND, (seq % 100000) / 100.0,
       JSON_OBJECT('ip', CONCAT('10.', seq % 255, '.', seq % 7, '.1'), 'ua', MD5(seq), 'n', seq % 1000),
       IF(seq % 10 = 0, NULL, CONCAT(MD5(seq), ' ', MD5(seq * 31)))
FROM seq_{start}_to_{end};
"""
