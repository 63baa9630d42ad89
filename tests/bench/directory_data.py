"""The benchmarks' directory: a large, realistic user table loaded in bulk, and a timer."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aai_cli import db
from tests.conftest import create_postgres_database, drop_postgres_database

N_USERS = 100_000
CHUNK = 10_000
T0 = datetime(2024, 1, 1, tzinfo=UTC)
STATUSES = ("approved", "approved", "approved", "pending", "rejected", "revoked")


def _users(start: int, stop: int) -> list[dict]:
    return [
        {
            "id": f"auth0|{i:08d}",
            "email": f"user{i}@example.org",
            "username": f"user{i}",
            "email_verified": i % 3 != 0,
            "blocked": i % 97 == 0,
            "created_at": T0 + timedelta(seconds=i),
        }
        for i in range(start, stop)
    ]


def _memberships(start: int, stop: int) -> tuple[list[dict], list[dict]]:
    platforms, groups = [], []
    now = T0 + timedelta(days=400)
    for i in range(start, stop):
        uid = f"auth0|{i:08d}"
        base = {"user_id": uid, "created_at": now, "updated_at": now, "requested_at": now}
        platforms.append({**base, "platform_id": "galaxy", "status": STATUSES[i % 6]})
        if i % 2:
            platforms.append({**base, "platform_id": "sbp", "status": STATUSES[(i // 2) % 6]})
        else:
            groups.append({**base, "group_id": "biocommons/group/tsi", "status": STATUSES[i % 4]})
    return platforms, groups


def populate(url: str, n_users: int) -> None:
    from aai_cli.models import GroupMembership, PlatformMembership, User, metadata
    from aai_cli.services.access.catalog import seed_catalog

    engine = db.get_engine(url)
    metadata.create_all(engine)
    with db.session_scope(url) as session:
        seed_catalog(session)
    with engine.begin() as conn:
        for start in range(0, n_users, CHUNK):
            stop = min(start + CHUNK, n_users)
            platforms, groups = _memberships(start, stop)
            conn.execute(User.__table__.insert(), _users(start, stop))
            conn.execute(PlatformMembership.__table__.insert(), platforms)
            conn.execute(GroupMembership.__table__.insert(), groups)
    settle(url)


def settle(url: str) -> None:
    """Statistics, and on Postgres the visibility map that lets counts read indexes
    alone (the triggers rewrote every user row): as autovacuum would leave the tables."""
    engine = db.get_engine(url)
    if url.startswith("postgresql"):
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")


@contextmanager
def scratch_database(backend: str, directory: Path) -> Iterator[str]:
    """An empty database for one benchmark: a SQLite file in `directory`, or a new
    Postgres database (skips without AAI_TEST_POSTGRES_URL), dropped afterwards."""
    url = f"sqlite:///{directory / 'bench.db'}"
    if backend == "postgres":
        url = create_postgres_database()
    try:
        yield url
    finally:
        db.dispose_engines()
        if url.startswith("postgresql"):
            drop_postgres_database(url)


def median_ms(fn, runs: int = 15, warmups: int = 1) -> float:  # type: ignore[no-untyped-def]
    for _ in range(warmups):
        fn()  # warm up (connections, statement caches, a JWKS)
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)
