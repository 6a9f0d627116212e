"""Scratch databases on the machine's PostgreSQL and MariaDB, created and dropped by tests."""

from __future__ import annotations

import os
import uuid
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
import pymysql

PG_HOST = os.environ.get("LIFEBOAT_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("LIFEBOAT_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("LIFEBOAT_TEST_PG_USER", "postgres")
PG_PASSWORD = os.environ.get("LIFEBOAT_TEST_PG_PASSWORD", "")
MY_HOST = os.environ.get("LIFEBOAT_TEST_MYSQL_HOST", "127.0.0.1")
MY_PORT = int(os.environ.get("LIFEBOAT_TEST_MYSQL_PORT", "3306"))
MY_USER = os.environ.get("LIFEBOAT_TEST_MYSQL_USER", "root")
MY_PASSWORD = os.environ.get("LIFEBOAT_TEST_MYSQL_PASSWORD", "")


@dataclass(frozen=True)
class ScratchDb:
    """Connection facts of a scratch database."""

    engine: str
    host: str
    port: int
    name: str
    user: str
    password: str


def unique_name(prefix: str) -> str:
    """A database name no other test uses."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def pg_admin() -> psycopg.Connection[tuple[object, ...]]:
    """Autocommit connection to the `postgres` maintenance database."""
    return psycopg.connect(
        host=PG_HOST,
        port=PG_PORT,
        user=PG_USER,
        password=PG_PASSWORD or None,
        dbname="postgres",
        autocommit=True,
    )


def pg_connect(name: str) -> psycopg.Connection[tuple[object, ...]]:
    """Autocommit connection to database `name`."""
    return psycopg.connect(
        host=PG_HOST,
        port=PG_PORT,
        user=PG_USER,
        password=PG_PASSWORD or None,
        dbname=name,
        autocommit=True,
    )


def my_connect(name: str | None = None) -> pymysql.connections.Connection:  # type: ignore[type-arg]
    """Autocommit connection to MariaDB (database `name` if given)."""
    return pymysql.connect(
        host=MY_HOST,
        port=MY_PORT,
        user=MY_USER,
        password=MY_PASSWORD,
        database=name,
        autocommit=True,
        charset="utf8mb4",
    )


def drop_pg(name: str) -> None:
    """Drop a PostgreSQL database, disconnecting its sessions."""
    with pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]


def drop_my(name: str) -> None:
    """Drop a MariaDB database."""
    conn = my_connect()
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        conn.close()


@contextmanager
def scratch_pg(prefix: str = "lbt") -> Generator[ScratchDb]:
    """An empty PostgreSQL database, dropped afterwards."""
    name = unique_name(prefix)
    with pg_admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    try:
        yield ScratchDb("postgresql", PG_HOST, PG_PORT, name, PG_USER, PG_PASSWORD)
    finally:
        drop_pg(name)


@contextmanager
def scratch_my(prefix: str = "lbt") -> Generator[ScratchDb]:
    """An empty MariaDB database, dropped afterwards."""
    name = unique_name(prefix)
    conn = my_connect()
    try:
        with conn.cursor() as cur:
            cur.execute(
                f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            )
    finally:
        conn.close()
    try:
        yield ScratchDb("mysql", MY_HOST, MY_PORT, name, MY_USER, MY_PASSWORD)
    finally:
        drop_my(name)
