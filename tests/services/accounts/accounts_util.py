"""Helpers of the account tests: a user in the local Auth0 and mirrored here, a fast
gateway, and the database state a refused change must leave alone."""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session, select

from aai_cli.models import EmailChangeCode, EmailMessage, IdentityEvent, RoleChange, User, utcnow
from aai_cli.services.auth0.mirror import upsert_rows, user_row
from aai_cli.services.auth0.models import Auth0User

PASSWORD = "Str0ng!pass"


def make_user(fake: Any, session: Session, username: str, **fields: Any) -> str:
    """A database-connection user in the local Auth0 (with a password) and its row here."""
    fields.setdefault("email", f"{username}@example.org")
    fields.setdefault("email_verified", True)
    remote = fake.add_user(username=username, password=PASSWORD, **fields)
    upsert_rows(session, [user_row(Auth0User.model_validate(remote), utcnow())])
    session.commit()
    return remote["user_id"]


def fresh(session: Session) -> Session:
    """End the test session's transaction, so that it reads what the services committed
    (a transaction keeps its snapshot)."""
    session.rollback()
    return session


def state(session: Session, user_id: str) -> dict[str, Any]:
    """What a refused change must not touch."""
    fresh(session)
    user = session.get(User, user_id)
    assert user is not None
    return {
        "user": (user.username, user.email, user.email_verified, user.name, user.deleted_at),
        "events": len(session.exec(select(IdentityEvent.id)).all()),
        "emails": len(session.exec(select(EmailMessage.id)).all()),
        "roles": len(session.exec(select(RoleChange.id)).all()),
    }


def history(session: Session, user_id: str) -> list[tuple]:
    fresh(session)
    query = (
        select(IdentityEvent).where(IdentityEvent.user_id == user_id).order_by(IdentityEvent.id)  # type: ignore[arg-type]
    )
    return [(e.kind, e.old_value, e.new_value, e.actor, e.reason) for e in session.exec(query)]


def outbox(session: Session) -> list[tuple[str, str, str]]:
    fresh(session)
    query = select(EmailMessage).order_by(EmailMessage.id)  # type: ignore[arg-type]
    return [(m.kind, m.to_address, m.subject) for m in session.exec(query)]


def sent_code(session: Session) -> str:
    """The code in the latest email-change message (as the person reads it)."""
    fresh(session)
    query = (
        select(EmailMessage.body_text)
        .where(EmailMessage.kind == "email_change_code")
        .order_by(EmailMessage.id.desc())  # type: ignore[union-attr]
    )
    body = session.exec(query).first()
    assert body is not None
    match = re.search(r"^\s+(\d{6})$", body, re.MULTILINE)
    assert match is not None, body
    return match.group(1)


def codes(session: Session, user_id: str) -> list[tuple]:
    fresh(session)
    query = (
        select(EmailChangeCode)
        .where(EmailChangeCode.user_id == user_id)
        .order_by(EmailChangeCode.id)  # type: ignore[arg-type]
    )
    return [(c.new_email, c.attempts, c.active) for c in session.exec(query)]
