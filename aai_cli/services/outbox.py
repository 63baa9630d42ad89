"""The Auth0 outbox: role assignments and removals written with the decision that needs them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from aai_cli.errors import AaiError, ServiceUnavailable
from aai_cli.models import RoleChange, utcnow

if TYPE_CHECKING:
    from aai_cli.services.auth0 import Auth0Gateway

MAX_ATTEMPTS = 10
BASE_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=6)


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


def retry_delay(attempts: int) -> timedelta:
    """30 s after the first failure, doubling, at most 6 h."""
    return min(BASE_BACKOFF * 2 ** max(attempts - 1, 0), MAX_BACKOFF)


def push_role_changes(
    session: Session,
    gateway: Auth0Gateway,
    *,
    ids: Sequence[int] | None = None,
    limit: int = 100,
    now: datetime | None = None,
) -> dict[str, int]:
    """Push due pending role changes to Auth0, oldest first, and record each outcome.

    A failure backs the row off (`attempts`, `next_attempt_at`, `last_error`); after
    `MAX_ATTEMPTS` it is `dead`. When Auth0 is unreachable (after the gateway's own
    retries) the push stops at that row. Rows of one (user, role) apply in order: while an older
    one waits, the newer ones wait too. `ids` restricts the push to those rows (still only
    when due). The caller commits; pushing twice is harmless (Auth0 assign/remove are
    idempotent).
    """
    now = now or utcnow()
    query = select(RoleChange).where(RoleChange.status == "pending").order_by(RoleChange.id)
    if ids is not None:
        query = query.where(RoleChange.id.in_(list(ids)))
    counts = {"attempted": 0, "done": 0, "failed": 0, "dead": 0, "waiting": 0, "unavailable": 0}
    held: set[tuple[str, str]] = set()
    for change in session.exec(query.limit(limit * 5)):
        key = (change.user_id, change.role_name)
        if key in held or (change.next_attempt_at and change.next_attempt_at > now):
            held.add(key)
            counts["waiting"] += 1
            continue
        if counts["attempted"] >= limit:
            break
        counts["attempted"] += 1
        outcome = _push_one(session, gateway, change, now)
        counts[outcome] += 1
        if outcome == "unavailable":  # Auth0 is down: the others wait for the next push
            break
        if outcome != "done":
            held.add(key)
    session.flush()
    return counts


def _push_one(session: Session, gateway: Auth0Gateway, change: RoleChange, now: datetime) -> str:
    change.attempts += 1
    change.updated_at = now
    try:
        role = gateway.role_by_name(change.role_name)
        if role is None:
            raise AaiError(f"role {change.role_name} does not exist in Auth0")
        if change.action == "assign":
            gateway.assign_roles(change.user_id, [role.id])
        else:
            gateway.remove_roles(change.user_id, [role.id])
    except AaiError as exc:
        change.last_error = str(exc)[:1000]
        if change.attempts >= MAX_ATTEMPTS:
            change.status = "dead"
        else:
            change.next_attempt_at = now + retry_delay(change.attempts)
        session.add(change)
        if change.status == "dead":
            return "dead"
        return "unavailable" if isinstance(exc, ServiceUnavailable) else "failed"
    change.status, change.done_at, change.last_error = "done", now, None
    session.add(change)
    return "done"
