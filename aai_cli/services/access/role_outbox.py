"""The Auth0 outbox: role assignments and removals written with the decision that needs them."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, tuple_, update
from sqlmodel import Session, col, select

from aai_cli.errors import AaiError, ConfigError, ServiceUnavailable
from aai_cli.models import RoleChange, utcnow
from aai_cli.services import leases

if TYPE_CHECKING:
    from aai_cli.services.auth0 import Auth0Gateway

MAX_ATTEMPTS = 10
BASE_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=6)
# A claimed row is due again after this, should its worker die before recording it.
LEASE = timedelta(minutes=10)


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


COUNTS = ("attempted", "done", "failed", "dead", "waiting", "unavailable")


def push_role_changes(
    session: Session,
    gateway: Auth0Gateway,
    *,
    ids: Sequence[int] | None = None,
    limit: int = 100,
    now: datetime | None = None,
) -> dict[str, int]:
    """Push due pending role changes to Auth0, oldest first, and record each outcome.

    A job, not a plain service (as the email outbox's delivery): it claims the due rows
    with a lease (their next attempt moved past it) in one short transaction and commits,
    calls Auth0 with no transaction open, and records each outcome in a short transaction
    of its own. Rows of one (user, role) apply in order: while an older one waits (backing
    off, or leased by another worker), the newer ones wait too. `ids` restricts the push
    to those rows and the older rows of the same user and role.

    A failure backs the row off (`attempts`, `next_attempt_at`, `last_error`); after
    `MAX_ATTEMPTS` it is `dead`. When Auth0 is unreachable (after the gateway's own
    retries) the push stops at that row; when Auth0 refuses the management credentials it
    stops and raises `ConfigError`, leaving the rows as they were. Pushing twice is
    harmless (Auth0 assign/remove are idempotent).
    """
    now = now or utcnow()
    counts = dict.fromkeys(COUNTS, 0)
    held: set[tuple[str, str]] = set()
    wanted = _due_in_order(_candidates(session, ids, limit), now, limit, held, counts)
    claimed = leases.claim(
        session, RoleChange, [c.id for c in wanted], due=_due(now), values=_lease(now)
    )
    won = {c.id for c in claimed}
    lost = [c for c in wanted if c.id not in won]  # another worker took them
    held.update(_key(c) for c in lost)
    counts["waiting"] += len(lost)
    deadline = time.monotonic() + LEASE.total_seconds() / 2
    for position, change in enumerate(claimed):
        if _key(change) in held or time.monotonic() >= deadline:
            _release(session, [change], now)
            counts["waiting"] += 1
            continue
        try:
            error = _push_one(gateway, change)
        except ConfigError:
            _release(session, claimed[position:], now)
            raise
        counts["attempted"] += 1
        outcome = _record(session, change, error, now)
        counts[outcome] += 1
        if outcome == "unavailable":  # Auth0 is down: the others wait for the next push
            _release(session, claimed[position + 1 :], now)
            break
        if outcome != "done":
            held.add(_key(change))
    return counts


def _key(change: RoleChange) -> tuple[str, str]:
    return change.user_id, change.role_name


def _candidates(session: Session, ids: Sequence[int] | None, limit: int) -> list[RoleChange]:
    query = select(RoleChange).where(RoleChange.status == "pending")
    if ids is not None:
        ids = list(ids)
        keys = select(col(RoleChange.user_id), col(RoleChange.role_name)).where(
            col(RoleChange.id).in_(ids)
        )
        query = query.where(
            tuple_(RoleChange.user_id, RoleChange.role_name).in_(keys),
            col(RoleChange.id) <= max(ids, default=0),
        )
    return list(session.exec(query.order_by(col(RoleChange.id)).limit(limit * 5)))


def _due_in_order(
    candidates: list[RoleChange],
    now: datetime,
    limit: int,
    held: set[tuple[str, str]],
    counts: dict[str, int],
) -> list[RoleChange]:
    """The rows to claim: due, and no older row of their (user, role) waiting."""
    wanted: list[RoleChange] = []
    for change in candidates:
        if _key(change) in held or (change.next_attempt_at and change.next_attempt_at > now):
            held.add(_key(change))
            counts["waiting"] += 1
        elif len(wanted) < limit:
            wanted.append(change)
        else:
            break
    return wanted


def _due(now: datetime) -> ColumnElement[bool]:
    return (col(RoleChange.status) == "pending") & (
        col(RoleChange.next_attempt_at).is_(None) | (col(RoleChange.next_attempt_at) <= now)
    )


def _lease(now: datetime) -> dict[str, datetime]:
    return {"next_attempt_at": now + LEASE}


def _release(session: Session, changes: Sequence[RoleChange], now: datetime) -> None:
    """Give claimed rows back unattempted: due again, as they were before the claim."""
    if not changes:
        return
    session.execute(
        update(RoleChange)
        .where(col(RoleChange.id).in_([c.id for c in changes]))
        .where(col(RoleChange.status) == "pending", col(RoleChange.next_attempt_at) == now + LEASE)
        .values(next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def _push_one(gateway: Auth0Gateway, change: RoleChange) -> AaiError | None:
    """Apply one change in Auth0 (no database access here); the error, if it failed."""
    try:
        role = gateway.role_by_name(change.role_name)
        if role is None:
            raise AaiError(f"role {change.role_name} does not exist in Auth0")
        if change.action == "assign":
            gateway.assign_roles(change.user_id, [role.id])
        else:
            gateway.remove_roles(change.user_id, [role.id])
    except ConfigError:
        raise
    except AaiError as exc:
        return exc
    return None


def _record(session: Session, change: RoleChange, error: AaiError | None, now: datetime) -> str:
    """Write the outcome of one attempt in a short transaction of its own."""
    change.attempts += 1
    change.updated_at = now
    if error is None:
        change.status, change.done_at, change.last_error = "done", now, None
    else:
        change.last_error = str(error)[:1000]
        if change.attempts >= MAX_ATTEMPTS:
            change.status = "dead"
        else:
            change.next_attempt_at = now + retry_delay(change.attempts)
    session.add(change)
    session.commit()
    if error is None:
        return "done"
    if change.status == "dead":
        return "dead"
    return "unavailable" if isinstance(error, ServiceUnavailable) else "failed"
