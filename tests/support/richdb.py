"""Rich test databases and fingerprints to compare them after a backup/restore round trip.

``build_rich_pg(name)`` / ``build_rich_my(name)`` fill an existing empty database with a bit of
everything a real schema has; ``pg_fingerprint(name)`` / ``my_fingerprint(name)`` describe a
database (schema objects, a sha256 of every table's rows in a deterministic order, sequence
and AUTO_INCREMENT values) so that two databases compare equal with ``==`` exactly when the
restore reproduced the original. ``*_row_counts`` help schema-only assertions.

The PostgreSQL side is in richdb_pg.py, the MariaDB/MySQL side in richdb_my.py; this module
names both.
"""

from tests.support.richdb_my import build_rich_my, my_fingerprint, my_row_counts, my_tables
from tests.support.richdb_pg import build_rich_pg, pg_fingerprint, pg_row_counts, pg_tables

__all__ = [
    "build_rich_my",
    "build_rich_pg",
    "my_fingerprint",
    "my_row_counts",
    "my_tables",
    "pg_fingerprint",
    "pg_row_counts",
    "pg_tables",
]
