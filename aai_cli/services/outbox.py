"""The Auth0 outbox: role assignments and removals written with the decision that needs them."""

from __future__ import annotations

from sqlmodel import Session, select

from aai_cli.models import RoleChange, utcnow


def enqueue_role_change(
    session: Session, *, user_id: str, role_name: str, action: str
) -> RoleChange:
    """Queue an Auth0 role change; pushed after commit and retried until done."""
    now = utcnow()
    change = RoleChange(
        user_id=user_id,
        role_name=role_name,
        action=action,
        status="pending",
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(change)
    session.flush()
    return change


def pending_role_keys(session: Session) -> set[tuple[str, str]]:
    """(user_id, role_name) pairs with a push still pending: the sync must not touch them."""
    rows = session.exec(
        select(RoleChange.user_id, RoleChange.role_name).where(RoleChange.status == "pending")
    )
    return {(user_id, role_name) for user_id, role_name in rows}
