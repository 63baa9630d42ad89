"""Database connectivity: ping, wait with backoff, and driver errors as clear one-liners.

Messages name the host, port and database (or the SQLite file), never the password.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError

from aai_cli import db
from aai_cli.errors import AaiError, Busy, DatabaseUnavailable


def describe_target(url: str) -> str:
    """Where the database is, for messages: host:port/name or the SQLite file."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"SQLite database {parsed.database or ':memory:'}"
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''}"


def redacted_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


# (substring of the driver message, our message, hint)
_REASONS: list[tuple[tuple[str, ...], str, str]] = [
    (
        ("readonly database", "read-only"),
        "the {where} is read-only",
        "make the file and its directory writable",
    ),
    (
        ("unable to open database file",),
        "cannot open the {where}",
        "check that its directory exists and is writable",
    ),
    (
        ("connection refused",),
        "cannot reach {where}: connection refused",
        "is the server running and listening there?",
    ),
    (
        ("timeout expired", "connection timed out", "timed out"),
        "cannot reach {where}: timed out",
        "check the host, port and firewall",
    ),
    (
        ("authentication failed", "no password supplied", "password authentication"),
        "authentication failed for {where}",
        "check DB_USER and DB_PASSWORD (or the DB_URL credentials)",
    ),
    (
        ("could not translate host name", "name or service not known", "nodename nor servname"),
        "cannot reach {where}: unknown host",
        "check DB_HOST (or the DB_URL host)",
    ),
    (
        ("does not exist",),
        "{where}: the database does not exist",
        "create it, or check DB_NAME (or the DB_URL database)",
    ),
]


def error_detail(exc: BaseException, url: str) -> str:
    """The first line of the driver's message, with the password (if any) masked."""
    original = getattr(exc, "orig", None) or exc
    detail = (str(original).strip().splitlines() or [type(original).__name__])[0]
    password = make_url(url).password
    return detail.replace(str(password), "***") if password else detail


def classify_error(exc: BaseException, url: str) -> AaiError | None:
    """A known connectivity failure as an AaiError (5, or 7 for a locked SQLite file);
    None when the database answered and refused the statement itself."""
    lowered = error_detail(exc, url).lower()
    where = describe_target(url)
    if "database is locked" in lowered:
        return Busy(f"the {where} is locked by another process", hint="retry when it finishes")
    if "lock timeout" in lowered:
        return Busy(
            f"{where}: a table lock was not granted in time (another session holds it)",
            hint="retry when it finishes",
        )
    for needles, message, hint in _REASONS:
        if any(needle in lowered for needle in needles):
            return DatabaseUnavailable(message.format(where=where), hint=hint)
    return None


def database_error(exc: BaseException, url: str) -> AaiError:
    """A driver error as a one-line AaiError."""
    known = classify_error(exc, url)
    if known is not None:
        return known
    where = describe_target(url)
    return DatabaseUnavailable(f"database error on {where}: {error_detail(exc, url)}")


@contextmanager
def translate_db_errors(url: str) -> Iterator[None]:
    try:
        yield
    except (OperationalError, InterfaceError) as exc:
        raise database_error(exc, url) from None


@dataclass(frozen=True)
class PingResult:
    ok: bool = field(default=True, init=False)  # always: a failed ping raises instead
    backend: str
    database: str
    server_version: str
    connect_ms: float
    rtt_ms: float


def ping(url: str) -> PingResult:
    """Connect, ask the server version and time one round trip."""
    backend = make_url(url).get_backend_name()
    version_sql = "select sqlite_version()" if backend == "sqlite" else "show server_version"
    with translate_db_errors(url):
        engine = db.get_engine(url)
        started = time.perf_counter()
        with engine.connect() as connection:
            connected = time.perf_counter()
            version = connection.exec_driver_sql(version_sql).scalar()
            answered = time.perf_counter()
    return PingResult(
        backend="postgresql" if backend.startswith("postgres") else backend,
        database=redacted_url(url),
        server_version=str(version),
        connect_ms=round((connected - started) * 1000, 2),
        rtt_ms=round((answered - connected) * 1000, 2),
    )


def wait(
    url: str,
    *,
    timeout_s: float,
    on_retry: Callable[[int, AaiError, float], None] | None = None,
    initial_delay_s: float = 0.2,
    max_delay_s: float = 5.0,
) -> PingResult:
    """Ping until the database answers, backing off between attempts; DatabaseUnavailable
    (exit 5) with the last reason once `timeout_s` has passed."""
    deadline = time.monotonic() + timeout_s
    delay = initial_delay_s
    attempt = 0
    while True:
        attempt += 1
        try:
            return ping(url)
        except DatabaseUnavailable as exc:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DatabaseUnavailable(
                    f"the database did not answer within {timeout_s:g} s "
                    f"({attempt} attempts): {exc.message}",
                    hint=exc.hint,
                ) from None
            pause = min(delay, remaining)
            if on_retry is not None:
                on_retry(attempt, exc, pause)
            time.sleep(pause)
            delay = min(delay * 2, max_delay_s)
