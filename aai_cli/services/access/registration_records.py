"""The `registrations` records: start, finish, and the job that finishes interrupted ones.

A record is written (status `started`) before the Auth0 user is created, marked
`auth0_created` with the Auth0 user id right after, and `done` in the transaction that
writes the database side. The database side runs exactly once per record: it begins by
moving the record from `auth0_created` to `done` (a compare-and-set), so the request and
the job can never both do it.

The `registrations` job (`finish_registrations`) picks up what a request left behind:
- `auth0_created` (the database side failed, or the process died after Auth0 answered):
  the Auth0 user is read again and the database side is written as it was asked;
- `started` for longer than Auth0 can take (the create's outcome was never learnt): the
  Auth0 users with that email are looked up, and one is adopted only when its email and
  username match and its `app_metadata` names this very registration
  (`registration_id`, `registration_from`) and it was created after the record; else
  the record is `failed` (no account came of it; the person may register again).
Each job call opens its own short transactions, none across an Auth0 call. A record whose
database side keeps failing is `dead` after `MAX_ATTEMPTS` (`aai schedule status` shows
it). Finished records are deleted after the retention period.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from aai_cli.db import session_scope
from aai_cli.errors import AaiError, Auth0Unavailable
from aai_cli.models import REGISTRATION_ACTOR, Kind, RegistrationRecord, Target, User, utcnow
from aai_cli.services.access import memberships, notifications
from aai_cli.services.access.results import TransitionResult
from aai_cli.services.auth0.mirror import upsert_rows, user_row

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
# How long the job leaves a record to the request that wrote it.
CREATED_GRACE = timedelta(minutes=1)
STARTED_GRACE = timedelta(minutes=10)  # longer than a create can take, retries included
CLOCK_SKEW = timedelta(minutes=1)
MAX_BACKOFF = timedelta(hours=6)
FINISHED = ("done", "failed")


@dataclass(frozen=True)
class Requested:
    """One platform or group a registration asks for, with its request reason."""

    kind: Kind
    id: str
    reason: str | None

    @property
    def target(self) -> Target:
        return Target(self.kind, self.id)


@dataclass
class Outcome:
    user_id: str
    email: str
    username: str
    memberships: list[dict[str, str]]
    role_change_ids: list[int]
    completed: bool  # False: Auth0 has the account; the job writes the database side

    @property
    def message(self) -> str:
        if self.completed:
            return "registered"
        return "registered: your access requests will be recorded in a few minutes"


def start(
    session: Session, *, kind: str, email: str, username: str, requests: list[Requested]
) -> str:
    """Record a registration about to be sent to Auth0; returns its id."""
    now = utcnow()
    record = RegistrationRecord(
        id=uuid.uuid4().hex,
        kind=kind,
        email=email,
        username=username,
        requests=[asdict(r) for r in requests],
        created_at=now,
        updated_at=now,
    )
    session.add(record)
    session.flush()
    return record.id


def mark_failed(record_id: str, error: str, *, url: str | None = None) -> None:
    """No Auth0 user came of this registration (its own short transaction)."""
    with session_scope(url) as session:
        _set(
            session,
            record_id,
            when=("started", "auth0_created"),
            status="failed",
            last_error=error[:2000],
        )


def _set(
    session: Session, record_id: str, *, when: tuple[str, ...] | None = None, **values: Any
) -> int:
    """Update one record (only while its status is one of `when`, if given)."""
    values.setdefault("updated_at", utcnow())
    query = update(RegistrationRecord).where(col(RegistrationRecord.id) == record_id)
    if when is not None:
        query = query.where(col(RegistrationRecord.status).in_(when))
    return session.exec(query.values(**values)).rowcount


def _mark_created(session: Session, record_id: str, user_id: str) -> None:
    # From `failed` too: the job may have given up on a create that Auth0 did answer.
    when = ("started", "failed", "auth0_created")
    _set(session, record_id, when=when, status="auth0_created", user_id=user_id)


def finish_now(record_id: str, remote: Any, *, url: str | None = None) -> Outcome:
    """After Auth0 created `remote`: record that, then write the database side. A failure
    of the latter is left to the job (the answer says so; nothing is lost)."""
    try:
        with session_scope(url) as session:
            _mark_created(session, record_id, remote.user_id)
        with session_scope(url) as session:
            outcome = complete(session, record_id, remote)
    except (SQLAlchemyError, AaiError) as exc:
        # Still `started` if even the mark failed: the job adopts the user by its
        # registration_id then.
        log.warning("registration %s: database side deferred to the job: %s", record_id, exc)
        _note_failure(record_id, exc, url=url)
        outcome = None
    if outcome is None:
        return Outcome(remote.user_id, remote.email or "", remote.username or "", [], [], False)
    return outcome


def complete(session: Session, record_id: str, remote: Any) -> Outcome | None:
    """The database side of a registration whose Auth0 user is `remote`: the user row, the
    requests and their emails. None when the record is not (or no longer) `auth0_created`."""
    now = utcnow()
    claimed = session.exec(
        update(RegistrationRecord)
        .where(
            col(RegistrationRecord.id) == record_id,
            col(RegistrationRecord.status) == "auth0_created",
        )
        .values(status="done", completed_at=now, updated_at=now, last_error=None)
    ).rowcount
    if claimed != 1:
        return None
    record = session.get(RegistrationRecord, record_id, populate_existing=True)
    assert record is not None
    user = _upsert_user(session, remote)
    requests = [Requested(**item) for item in record.requests]
    results = [_request(session, user.id, r) for r in requests]
    statuses = _statuses(session, user.id, requests)
    notifications.notify_registration(session, user=user, memberships=statuses)
    for requested, result in zip(requests, results, strict=True):
        # A bundle (group) request left pending also confirms its arrival to the user.
        if requested.kind == "group" and result is not None and result.to_status == "pending":
            notifications.queue_request_received(
                session, user=user, target=requested.target, reason=requested.reason
            )
    session.flush()
    changes = memberships.pending_change_ids(session, [r for r in results if r is not None])
    return Outcome(user.id, user.email or "", user.username or "", statuses, changes, True)


def _upsert_user(session: Session, remote: Any) -> User:
    """The user's row from the Auth0 user (the sync's upsert)."""
    upsert_rows(session, [user_row(remote, utcnow())])
    user = session.get(User, remote.user_id, populate_existing=True)
    assert user is not None
    return user


def _request(session: Session, user_id: str, requested: Requested) -> TransitionResult | None:
    target = requested.target
    if memberships.get_membership(session, user_id=user_id, target=target) is not None:
        return None  # already there (e.g. the sync imported a role granted meanwhile)
    return memberships.transition(
        session,
        user_id=user_id,
        target=target,
        action="request",
        actor=REGISTRATION_ACTOR,
        reason=requested.reason,
    )


def _statuses(session: Session, user_id: str, requests: list[Requested]) -> list[dict[str, str]]:
    result = []
    for requested in requests:
        target = requested.target
        membership = memberships.get_membership(session, user_id=user_id, target=target)
        result.append(
            {
                "kind": target.kind,
                "id": target.id,
                "name": notifications.target_name(session, target),
                "status": membership.status if membership else "unknown",
            }
        )
    return result


def _note_failure(record_id: str, exc: BaseException, *, url: str | None) -> str:
    """Count a failed attempt at the database side (`dead` after MAX_ATTEMPTS); never
    raises (the database may be what failed)."""
    try:
        with session_scope(url) as session:
            record = session.get(RegistrationRecord, record_id)
            if record is None:
                return "retry"
            record.attempts += 1
            record.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            record.updated_at = utcnow()
            if record.attempts >= MAX_ATTEMPTS:
                record.status = "dead"
                log.error("registration %s given up: %s", record_id, record.last_error)
            session.add(record)
            return "dead" if record.status == "dead" else "retry"
    except Exception as note_error:  # the database is down: the next run retries
        log.warning("registration %s: cannot record the failure: %s", record_id, note_error)
        return "retry"


# --- the job ---------------------------------------------------------------------------


def finish_registrations(
    gateway_factory: Callable[[], Any],
    *,
    url: str | None = None,
    now: datetime | None = None,
    retention_days: int = 30,
    limit: int = 50,
) -> dict[str, int]:
    """Finish the registrations requests left behind (see the module docstring); returns
    counts. Stops at the first Auth0 outage (the next run goes on). `gateway_factory`
    gives the Auth0 gateway, asked for only when a record is due."""
    now = now or utcnow()
    counts = {"completed": 0, "failed": 0, "retry": 0, "dead": 0, "unavailable": 0}
    with session_scope(url, readonly=True) as session:
        due = _due(session, now, limit)
    gateway = gateway_factory() if due else None  # no Auth0 needed when nothing is due
    for record in due:
        try:
            remote = _find_remote(gateway, record)
        except Auth0Unavailable as exc:
            log.warning("registrations: Auth0 unavailable, the next run goes on: %s", exc)
            counts["unavailable"] += 1
            break
        if remote is None:
            mark_failed(record.id, _no_account(record), url=url)
            counts["failed"] += 1
            continue
        counts[_finish_one(record, remote, url)] += 1
    with session_scope(url) as session:
        counts["pruned"] = _prune(session, now - timedelta(days=retention_days))
    return counts


def _due(session: Session, now: datetime, limit: int) -> list[RegistrationRecord]:
    created = (col(RegistrationRecord.status) == "auth0_created") & (
        col(RegistrationRecord.updated_at) <= now - CREATED_GRACE
    )
    started = (col(RegistrationRecord.status) == "started") & (
        col(RegistrationRecord.updated_at) <= now - STARTED_GRACE
    )
    query = select(RegistrationRecord).where(created | started)
    query = query.order_by(col(RegistrationRecord.updated_at)).limit(limit)
    return [r for r in session.exec(query) if now - r.updated_at >= backoff(r.attempts)]


def backoff(attempts: int) -> timedelta:
    """How long a record waits after `attempts` failed ones: 1, 2, 4 ... minutes (6 h at most)."""
    return min(CREATED_GRACE * 2**attempts, MAX_BACKOFF)


def _find_remote(gateway: Any, record: RegistrationRecord) -> Any:
    if record.status == "auth0_created":
        return gateway.get_user(record.user_id)
    return next((u for u in gateway.users_by_email(record.email) if _is_ours(u, record)), None)


def _is_ours(remote: Any, record: RegistrationRecord) -> bool:
    """Whether this Auth0 user is the one this registration created."""
    metadata = remote.app_metadata or {}
    created = remote.created_at
    return (
        remote.user_id.startswith("auth0|")
        and (remote.email or "").lower() == record.email
        and (remote.username or "").lower() == record.username.lower()
        and metadata.get("registration_id") == record.id
        and metadata.get("registration_from") == record.kind
        and created is not None
        and created >= record.created_at - CLOCK_SKEW
    )


def _no_account(record: RegistrationRecord) -> str:
    if record.status == "auth0_created":
        return "the Auth0 user no longer exists"
    return "no Auth0 user of this registration was found"


def _finish_one(record: RegistrationRecord, remote: Any, url: str | None) -> str:
    try:
        with session_scope(url) as session:
            _mark_created(session, record.id, remote.user_id)
        with session_scope(url) as session:
            outcome = complete(session, record.id, remote)
    except (SQLAlchemyError, AaiError) as exc:
        log.warning("registration %s: database side failed: %s", record.id, exc)
        return _note_failure(record.id, exc, url=url)
    return "completed" if outcome is not None else "retry"


def _prune(session: Session, before: datetime) -> int:
    query = delete(RegistrationRecord).where(
        col(RegistrationRecord.status).in_(FINISHED), col(RegistrationRecord.updated_at) < before
    )
    return session.exec(query).rowcount
