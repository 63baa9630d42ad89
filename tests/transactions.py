"""What a test can see of other processes' transactions: whether anyone holds SQLite's write
lock, which PostgreSQL connections sit idle inside a transaction."""

from __future__ import annotations

import sqlite3

from sqlalchemy import create_engine, text

from aai_cli.db import is_sqlite_url, sqlite_path


def transactions_left_open(url: str) -> list[str]:
    """Transactions open on the database right now that nobody is using: SQLite's write lock
    held (a writer would wait), or PostgreSQL connections `idle in transaction`."""
    if is_sqlite_url(url):
        return [] if _sqlite_write_lock_free(url) else ["the SQLite write lock is held"]
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT state, query FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                    "AND state LIKE 'idle in transaction%'"
                )
            )
            return [f"{state}: {query}" for state, query in rows]
    finally:
        engine.dispose()


def _sqlite_write_lock_free(url: str) -> bool:
    path = sqlite_path(url)
    assert path is not None, "an in-memory database is private to its process"
    connection = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc):
            raise
        return False
    finally:
        connection.close()


def hold_sqlite_write_lock(url: str) -> sqlite3.Connection:
    """Another connection holding the write lock (BEGIN IMMEDIATE) until it is closed."""
    path = sqlite_path(url)
    assert path is not None
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("BEGIN IMMEDIATE")
    return connection
