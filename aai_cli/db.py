"""Engines, sessions and cross-process locks for SQLite (embedded) and PostgreSQL.

Transactions belong to the caller: `with session_scope() as session:` commits on success
and rolls back on error. Services only add and flush.

On SQLite a session that may write takes the write lock when it begins (BEGIN IMMEDIATE,
waiting up to the busy timeout): in WAL mode a deferred transaction that has read and
then writes fails at once, without waiting, when another process committed in between
(about one in ten such transactions failed with three concurrent writers). Sessions that
only read say so (`session_scope(readonly=True)`) and keep WAL's concurrent reads.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from aai_cli.errors import Busy, DatabaseUnavailable
from aai_cli.settings import get_settings

SQLITE_BUSY_TIMEOUT_MS = 5_000
WRITE_OPTION = "aai_write"  # an execution option: this connection's transactions write
PG_CONNECT_TIMEOUT_S = 5
PG_STATEMENT_TIMEOUT_MS = 60_000
PG_LOCK_TIMEOUT_MS = 10_000
PG_KEEPALIVE_IDLE_S = 30
# The rate-limit counters: a few connections per worker (each hit holds one for about a
# millisecond); a hit that cannot get one or an answer within seconds is a 503.
COUNTER_POOL_SIZE = 2
COUNTER_POOL_OVERFLOW = 3
COUNTER_POOL_TIMEOUT_S = 5
COUNTER_STATEMENT_TIMEOUT_MS = 5_000

_engines: dict[tuple[str, str], Engine] = {}
_engines_lock = threading.Lock()


def is_sqlite_url(url: str) -> bool:
    return url.startswith("sqlite")


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL, or None for an in-memory database."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return Path(database)


def _create_sqlite_engine(url: str, *, migrations: bool) -> Engine:
    path = sqlite_path(url)
    if path is not None and not path.parent.exists():
        raise DatabaseUnavailable(
            f"the directory for the SQLite database does not exist: {path.parent}"
        )
    engine = create_engine(
        url,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling defers BEGIN and breaks savepoints: take it
        # over (the "begin" hook below) so transactions and rollbacks are real.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # Foreign keys stay off while migrating: batch table rebuilds would cascade-delete.
        cursor.execute(f"PRAGMA foreign_keys={'OFF' if migrations else 'ON'}")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        if path is not None:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        write = migrations or connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _create_postgres_engine(url: str, *, migrations: bool) -> Engine:
    statement_timeout = 0 if migrations else PG_STATEMENT_TIMEOUT_MS
    # JIT costs more than it saves on this workload's short OLTP queries (a 1.6 s compile
    # was seen on a 100k-user count), so it is off for our sessions. psycopg prepares a
    # statement after a few runs, and Postgres then switches to a generic plan that cannot
    # see a search pattern's selectivity (a 12 ms directory page became 27 ms): planning
    # costs under a millisecond here, so every execution gets its own plan.
    # A job's lock is a session lock on an idle connection: the keepalives let the server
    # see within about a minute that a scheduler's host has gone, and release the lock
    # (the server's default is to wait two hours before the first probe).
    options = (
        f"-c statement_timeout={statement_timeout} -c lock_timeout={PG_LOCK_TIMEOUT_MS} "
        "-c jit=off -c plan_cache_mode=force_custom_plan "
        f"-c tcp_keepalives_idle={PG_KEEPALIVE_IDLE_S} -c tcp_keepalives_interval=10 "
        "-c tcp_keepalives_count=3"
    )
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=10,
        connect_args={
            "connect_timeout": PG_CONNECT_TIMEOUT_S,
            "options": options,
            "application_name": "aai",
        },
    )


def _create_postgres_counter_engine(url: str) -> Engine:
    # synchronous_commit=off: a hit's commit does not wait for its WAL to reach the disk
    # (that wait was 2-3 ms of a 3 ms hit). A server crash may lose the last moment's hits,
    # which only lets a client a few more requests; it cannot corrupt anything.
    return create_engine(
        url,
        isolation_level="AUTOCOMMIT",
        pool_size=COUNTER_POOL_SIZE,
        max_overflow=COUNTER_POOL_OVERFLOW,
        pool_timeout=COUNTER_POOL_TIMEOUT_S,
        connect_args={
            "connect_timeout": PG_CONNECT_TIMEOUT_S,
            "options": f"-c statement_timeout={COUNTER_STATEMENT_TIMEOUT_MS} "
            f"-c lock_timeout={COUNTER_STATEMENT_TIMEOUT_MS} -c synchronous_commit=off",
            "application_name": "aai-counters",
        },
    )


def get_engine(url: str | None = None, *, migrations: bool = False) -> Engine:
    """One engine per URL (and purpose) per process."""
    url = url or get_settings().database_url
    return _cached(url, "migrations" if migrations else "sessions")


def counter_engine(url: str | None = None) -> Engine:
    """The engine for one-statement writes on the request path (the rate limits).

    On PostgreSQL the statement is its own transaction (autocommit: no BEGIN, no COMMIT)
    on a small pool of its own without a pre-ping, so it costs one round trip; a caller
    retries once when a connection turns out dropped. On SQLite nothing crosses a network:
    the usual write engine.
    """
    url = url or get_settings().database_url
    if is_sqlite_url(url):
        return write_engine(url)
    return _cached(url, "counters")


def _cached(url: str, purpose: str) -> Engine:
    key = (url, purpose)
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            migrations = purpose == "migrations"
            if is_sqlite_url(url):
                engine = _create_sqlite_engine(url, migrations=migrations)
            elif purpose == "counters":
                engine = _create_postgres_counter_engine(url)
            else:
                engine = _create_postgres_engine(url, migrations=migrations)
            _engines[key] = engine
        return engine


def dispose_engines() -> None:
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def write_engine(url: str | None = None) -> Engine:
    """The engine for transactions that may write (see the module's docstring)."""
    return get_engine(url).execution_options(**{WRITE_OPTION: True})


def new_session(url: str | None = None, *, readonly: bool = False) -> Session:
    """A session not yet connected (no I/O): `readonly` promises that it does not write
    (on SQLite it then does not take the write lock, so it runs beside writers in other
    processes). End it with `finish`."""
    engine = get_engine(url) if readonly else write_engine(url)
    return Session(engine, expire_on_commit=False)


def finish(session: Session, *, ok: bool) -> None:
    """Commit (when `ok`) or roll back, then close."""
    try:
        if ok:
            session.commit()
        else:
            session.rollback()
    except BaseException:
        if ok:
            session.rollback()
        raise
    finally:
        session.close()


@contextlib.contextmanager
def session_scope(url: str | None = None, *, readonly: bool = False) -> Iterator[Session]:
    """A session whose transaction commits when the block ends and rolls back on error."""
    session = new_session(url, readonly=readonly)
    try:
        yield session
    except BaseException:
        finish(session, ok=False)
        raise
    finish(session, ok=True)


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for a Postgres advisory lock."""
    digest = hashlib.blake2b(f"aai:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextlib.contextmanager
def advisory_lock(
    name: str, *, wait: bool, timeout_s: float = 600, url: str | None = None
) -> Iterator[None]:
    """Hold a cross-process lock named `name` for the block.

    With `wait=False` a held lock raises `Busy` at once; with `wait=True` it waits up to
    `timeout_s`. Postgres uses a session advisory lock on a dedicated connection; SQLite a
    `flock` on a file beside the database (an in-memory database needs no such lock).
    """
    url = url or get_settings().database_url
    if is_sqlite_url(url):
        with _file_lock(url, name, wait=wait, timeout_s=timeout_s):
            yield
        return
    with _pg_lock(url, name, wait=wait, timeout_s=timeout_s):
        yield


_memory_locks: dict[str, threading.Lock] = {}


@contextlib.contextmanager
def _file_lock(url: str, name: str, *, wait: bool, timeout_s: float) -> Iterator[None]:
    path = sqlite_path(url)
    if path is None:
        lock = _memory_locks.setdefault(name, threading.Lock())
        if not lock.acquire(blocking=wait, timeout=timeout_s if wait else -1):
            raise Busy(f"another '{name}' run is in progress")
        try:
            yield
        finally:
            lock.release()
        return
    lock_path = path.with_name(f"{path.name}.{name.replace('/', '_')}.lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise DatabaseUnavailable(f"cannot create lock file {lock_path}: {exc.strerror}") from None
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not wait:
                    raise Busy(f"another '{name}' run is in progress") from None
                if time.monotonic() > deadline:
                    raise Busy(f"timed out waiting for the '{name}' lock") from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _pg_lock(url: str, name: str, *, wait: bool, timeout_s: float) -> Iterator[None]:
    key = lock_key(name)
    engine = get_engine(url)
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        if wait:
            connection.execute(text(f"SET lock_timeout = {int(timeout_s * 1000)}"))
            try:
                connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
            except OperationalError as exc:
                if "lock timeout" in str(exc.orig) or "lock_timeout" in str(exc.orig):
                    raise Busy(f"timed out waiting for the '{name}' lock") from None
                raise
            finally:
                connection.execute(text(f"SET lock_timeout = {PG_LOCK_TIMEOUT_MS}"))
        else:
            got = connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
            if not got:
                raise Busy(f"another '{name}' run is in progress")
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})


def is_lock_held(name: str, *, url: str | None = None) -> bool:
    """Whether another holder has the lock right now (for status displays)."""
    try:
        with advisory_lock(name, wait=False, url=url):
            return False
    except Busy:
        return True
