"""Helpers of the registration tests: a real database failure, row counts, the SBP
workflow execution bundle, and a gateway wrapper that looks at the database while Auth0
is being asked."""

from __future__ import annotations

import contextlib
from typing import Any

from sqlalchemy import func, text
from sqlmodel import select

from aai_cli import db
from aai_cli.models import RegistrationRecord, metadata
from tests.transactions import transactions_left_open

SBP_BUNDLE = "biocommons/group/sbp_workflow_execution"
COUNTED = (
    "users",
    "platform_memberships",
    "group_memberships",
    "membership_events",
    "role_changes",
    "email_outbox",
    "registrations",
)


def row_counts(url: str) -> dict[str, int]:
    with db.session_scope(url, readonly=True) as session:
        return {
            name: session.exec(select(func.count()).select_from(metadata.tables[name])).one()
            for name in COUNTED
        }


def records(url: str) -> list[tuple[str, str, int]]:
    """(email, status, attempts) of every registration record, oldest first."""
    with db.session_scope(url, readonly=True) as session:
        query = select(RegistrationRecord).order_by(RegistrationRecord.created_at)
        return [(r.email, r.status, r.attempts) for r in session.exec(query)]


@contextlib.contextmanager
def memberships_fail(url: str, backend: str):  # type: ignore[no-untyped-def]
    """A real database failure: inserts into platform_memberships raise until the block ends."""
    engine = db.get_engine(url)
    with engine.begin() as c:
        if backend == "sqlite":
            c.execute(
                text(
                    "CREATE TRIGGER aai_test_fail BEFORE INSERT ON platform_memberships "
                    "BEGIN SELECT RAISE(ABORT, 'simulated failure'); END"
                )
            )
        else:
            c.execute(
                text(
                    "CREATE FUNCTION aai_test_fail() RETURNS trigger AS $$ BEGIN "
                    "RAISE EXCEPTION 'simulated failure'; END $$ LANGUAGE plpgsql"
                )
            )
            c.execute(
                text(
                    "CREATE TRIGGER aai_test_fail BEFORE INSERT ON platform_memberships "
                    "FOR EACH ROW EXECUTE FUNCTION aai_test_fail()"
                )
            )
    try:
        yield
    finally:
        with engine.begin() as c:
            if backend == "sqlite":
                c.execute(text("DROP TRIGGER aai_test_fail"))
            else:
                c.execute(text("DROP TRIGGER aai_test_fail ON platform_memberships"))
                c.execute(text("DROP FUNCTION aai_test_fail()"))


def database_state(url: str) -> dict[str, Any]:
    """What another process would see right now: our pooled connections in use, and
    whether a writer would have to wait (SQLite's write lock; Postgres sessions idle in a
    transaction)."""
    checked_out = sum(engine.pool.checkedout() for engine in list(db._engines.values()))
    return {"checked_out": checked_out, "writer_blocked": bool(transactions_left_open(url))}


class WatchingGateway:
    """The real gateway; each Auth0 call first records `database_state` (what a second
    process would meet while this one waits for Auth0)."""

    def __init__(self, gateway: Any, url: str) -> None:
        self._gateway = gateway
        self._url = url
        self.seen: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._gateway, name)
        if not callable(target):
            return target

        def watched(*args: Any, **kwargs: Any) -> Any:
            self.seen.append((name, database_state(self._url)))
            return target(*args, **kwargs)

        return watched
