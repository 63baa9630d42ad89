"""The directory's test data: a few users added at known times, decisions taken through
the real state machine, and a counter of the statements a query sends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import event

from aai_cli.models import Target, User
from aai_cli.services.access import memberships
from aai_cli.services.directory.query import AdminScope

T0 = datetime(2025, 1, 1, tzinfo=UTC)
SBP = Target("platform", "sbp")
GALAXY = Target("platform", "galaxy")
TSI = Target("group", "biocommons/group/tsi")
GALAXY_ADMIN = AdminScope(platforms=frozenset({"galaxy"}))
TSI_ADMIN = AdminScope(groups=frozenset({"biocommons/group/tsi"}))


def add_user(session, uid: str, n: int, **fields) -> str:
    fields.setdefault("email", f"{uid}@example.org")
    fields.setdefault("username", uid)
    session.add(User(id=f"auth0|{uid}", created_at=T0 + timedelta(minutes=n), **fields))
    session.flush()
    return f"auth0|{uid}"


def decide(session, user_id: str, target: Target, *actions: str) -> None:
    for action in actions:
        memberships.transition(
            session, user_id=user_id, target=target, action=action, actor="t", reason="r"
        )


def approve_as_sync(session, user_id: str, target: Target) -> None:
    """An approval the sync copies from Auth0: recorded, never pushed back to Auth0."""
    memberships.transition(
        session,
        user_id=user_id,
        target=target,
        action="approve",
        actor="system:sync",
        push_to_auth0=False,
    )


def ids(records) -> list[str]:
    return [r.id.removeprefix("auth0|") for r in records]


@contextmanager
def count_statements(session) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    statements: list[str] = []

    def record(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        if not statement.lstrip().upper().startswith(("BEGIN", "SAVEPOINT", "RELEASE")):
            statements.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)
