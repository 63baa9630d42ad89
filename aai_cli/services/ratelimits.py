"""Rate limits that hold across every API worker and replica: the count is in the database.

Each limit allows `burst` hits at once, refilled at `per_minute`, per client key (a client
address, a user id). The state is one row per (limit, key) in `rate_limits`, kept by the
generic cell rate algorithm: `full_at` is when the key's allowance is whole again. A hit
is allowed when `full_at` is at most `(burst - 1)` intervals ahead, and then pushes
`full_at` one interval further. One atomic upsert per hit (`INSERT ... ON CONFLICT DO
UPDATE ... RETURNING`) decides and records it, so concurrent hits from any number of
processes are counted exactly once each: on PostgreSQL the row lock orders them, on
SQLite the write lock.

Time is the database's clock, so replicas whose clocks differ still agree. A row whose
`full_at` has passed is the same as no row, and `prune_expired` deletes it (the `codes`
job). When the database cannot answer, `hit` raises `DatabaseUnavailable`: a limited route
then answers 503, never lets the hit through uncounted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlmodel import Session

from aai_cli.db import counter_engine, is_sqlite_url
from aai_cli.errors import DatabaseUnavailable
from aai_cli.models import utcnow
from aai_cli.settings import get_settings

log = logging.getLogger(__name__)

MAX_KEY_CHARS = 255
# Seconds since the epoch by the database's clock, the same at every use in a statement.
DB_NOW = {
    "sqlite": "((julianday('now') - 2440587.5) * 86400.0)",
    "postgresql": "date_part('epoch', statement_timestamp())",
}
GREATEST = {"sqlite": "max", "postgresql": "GREATEST"}
HIT = """
INSERT INTO rate_limits (name, client_key, full_at, allowed)
VALUES (:name, :key, {now} + :interval, TRUE)
ON CONFLICT (name, client_key) DO UPDATE SET
    allowed = {greatest}(rate_limits.full_at, {now}) - {now} <= :tolerance,
    full_at = CASE WHEN {greatest}(rate_limits.full_at, {now}) - {now} <= :tolerance
        THEN {greatest}(rate_limits.full_at, {now}) + :interval
        ELSE rate_limits.full_at END
RETURNING allowed, full_at - {now} - :tolerance
"""


@dataclass(frozen=True)
class Limit:
    """`burst` hits at once, refilled at `per_minute`, per client key."""

    name: str
    per_minute: float
    burst: int

    @property
    def interval(self) -> float:
        """Seconds one hit takes to refill."""
        return 60.0 / self.per_minute

    @property
    def tolerance(self) -> float:
        """How far ahead `full_at` may be for one more hit to be allowed."""
        return (self.burst - 1) * self.interval


def hit(limit: Limit, key: str, *, url: str | None = None, now: float | None = None) -> float:
    """Count one hit of `key` against `limit`: 0 when allowed, else the seconds until the
    next hit would be. `now` (seconds since the epoch) replaces the database's clock."""
    url = url or get_settings().database_url
    dialect = "sqlite" if is_sqlite_url(url) else "postgresql"
    clock = DB_NOW[dialect] if now is None else ":now"
    statement = text(HIT.format(now=clock, greatest=GREATEST[dialect]))
    params = {
        "name": limit.name,
        "key": key[:MAX_KEY_CHARS],
        "interval": limit.interval,
        "tolerance": limit.tolerance,
        "now": now,
    }
    try:
        allowed, wait = _execute(url, statement, params)
    # a refused or dropped connection, a busy pool, a timeout, a missing SQLite directory
    except (SQLAlchemyError, DatabaseUnavailable) as exc:
        log.error("rate limit %s not counted: %s", limit.name, type(exc).__name__)
        raise DatabaseUnavailable(
            "the database is unavailable: the rate limit cannot be counted"
        ) from None
    return 0.0 if allowed else max(float(wait), 0.0)


def _execute(url: str, statement: TextClause, params: dict[str, Any]) -> tuple[bool, float]:
    """Run the upsert; a connection found dropped (the pool does not ping) is tried once more."""
    for attempt in (1, 2):
        try:
            with counter_engine(url).begin() as connection:
                allowed, wait = connection.execute(statement, params).one()
            return bool(allowed), float(wait)
        except DBAPIError as exc:
            if not exc.connection_invalidated or attempt == 2:
                raise
    raise AssertionError("unreachable")


def prune_expired(session: Session, *, now: datetime | None = None) -> int:
    """Delete the rows whose allowance is whole again (no row means the same)."""
    cutoff = (now or utcnow()).timestamp()
    result = session.execute(
        text("DELETE FROM rate_limits WHERE full_at < :cutoff"), {"cutoff": cutoff}
    )
    return int(getattr(result, "rowcount", 0) or 0)
