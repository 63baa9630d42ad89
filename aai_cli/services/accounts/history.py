"""The identity history (append-only `identity_events`) and what it keeps reserved.

A username or an email is taken for an account when another account holds it (live or
soft-deleted: a deleted account keeps its Auth0 user, blocked) or when it appears in the
history of another account (a former or earlier value: never handed to someone else).
Compared case-insensitively. A person may not take back their own former username
through self-service either (an admin may).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from aai_cli.models import IdentityEvent, User, identity_event_row
from aai_cli.services import directory


def record_event(
    session: Session, *, user_id: str, kind: str, actor: str, **values: str | None
) -> IdentityEvent:
    """Add an identity history row (`values`: old_value, new_value, reason)."""
    event = IdentityEvent(**identity_event_row(user_id, kind, actor, **values))
    session.add(event)
    session.flush()
    return event


def list_identity_history(session: Session, user_id: str) -> list[IdentityEvent]:
    """The user's identity changes, oldest first."""
    query = (
        select(IdentityEvent)
        .where(IdentityEvent.user_id == user_id)
        .order_by(col(IdentityEvent.created_at), col(IdentityEvent.id))
    )
    return list(session.exec(query))


EVENT_FIELDS = ("kind", "old_value", "new_value", "actor", "reason", "created_at")


def event_dict(event: IdentityEvent) -> dict[str, Any]:
    """An identity change as `aai users show --json` and the admin details list it."""
    return {name: getattr(event, name) for name in EVENT_FIELDS}


def username_taken(session: Session, username: str, *, user_id: str, own_history: bool) -> bool:
    """Held by another account, in another account's history, or (with `own_history`)
    one of this account's former usernames."""
    wanted = username.strip().lower()
    if _exists(session, User.id, func.lower(User.username) == wanted, User.id != user_id):
        return True
    return directory.in_identity_history(
        session, "username", wanted, user_id=user_id, own_former=own_history
    )


def email_taken(session: Session, email: str, *, user_id: str) -> bool:
    """Held by another database-connection account (a social login may share an email:
    Auth0 keeps connections apart) or in another account's history."""
    wanted = email.strip().lower()
    if _exists(
        session,
        User.id,
        func.lower(User.email) == wanted,
        User.id != user_id,
        col(User.id).startswith("auth0|", autoescape=True),
    ):
        return True
    return directory.in_identity_history(session, "email", wanted, user_id=user_id)


def _exists(session: Session, column: Any, *conditions: Any) -> bool:
    return session.exec(select(column).where(*conditions).limit(1)).first() is not None
