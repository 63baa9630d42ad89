"""Which email each membership transition sends, queued in the transition's transaction.

- a new request left pending -> the admins of that platform/group (`role:<admin role>`
  recipients, fanned out to the role's Auth0 members at delivery: we do not mirror admin
  role members, and this way a change in Auth0 is seen by the next email);
- approval (including unrevoke and an auto-approved request), rejection, revocation -> the user;
- registration -> the user (sent by the registration service, see `notify_registration`);
- a group (bundle) request -> the requester's confirmation, queued by whoever takes the
  request (registration, `/me`), see `queue_request_received`.

Changes imported by the sync (`system:sync`) send nothing: they already happened in Auth0,
and a first full sync must not mail every user. The registration's own requests send no
per-platform "approved" mail either: the registration email lists them.
"""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import quote

from sqlmodel import Session, select

from aai_cli.models import (
    REGISTRATION_ACTOR,
    SYNC_ACTOR,
    EmailMessage,
    Group,
    Platform,
    Target,
    User,
)
from aai_cli.services.access.results import TransitionResult
from aai_cli.services.email import delivery
from aai_cli.settings import get_settings

SILENT_ACTORS = frozenset({SYNC_ACTOR})
USER_EMAILS = {
    "approved": "access_approved",
    "rejected": "access_rejected",
    "revoked": "access_revoked",
}


def notify_transition(session: Session, result: TransitionResult) -> int:
    """Queue the emails a changed membership calls for; returns how many were queued.

    Idempotent per transition: `transition()` calls it, and a caller that calls it again
    (to know whether to schedule a delivery) gets the same count without a second email.
    """
    if not result.changed or result.event is None or result.event.actor in SILENT_ACTORS:
        return 0
    done: dict[int, int] = session.info.setdefault("aai_notified_events", {})
    key = id(result.event) if result.event.id is None else result.event.id
    if key not in done:
        done[key] = len(_queue(session, result))
    return done[key]


def _queue(session: Session, result: TransitionResult) -> list[EmailMessage]:
    user = session.get(User, result.user_id)
    if user is None:
        return []
    if result.to_status == "pending" and result.action == "request":
        return _notify_admins(session, result, user)
    kind = USER_EMAILS.get(result.to_status)
    if not kind or result.event.actor == REGISTRATION_ACTOR:  # type: ignore[union-attr]  # only called with an event
        return []
    message = _email_user(
        session,
        user,
        kind,
        target_name=target_name(session, result.target),
        reason=result.membership.reason,
    )
    return [message] if message else []


def notify_registration(
    session: Session, *, user: User, memberships: list[dict[str, str]]
) -> EmailMessage | None:
    """The confirmation email to a newly registered user; `memberships` = [{name, status}]."""
    return _email_user(
        session,
        user,
        "registration",
        username=user.username or user.email,
        email=user.email,
        memberships=memberships,
    )


def queue_request_received(
    session: Session, *, user: User, target: Target, reason: str | None
) -> EmailMessage | None:
    """The requester's confirmation that their bundle request arrived ("Your <group>
    Service Bundle request has been received"); None for a user without an email."""
    return _email_user(
        session,
        user,
        "request_received",
        target_name=target_name(session, target),
        reason=reason,
    )


def _email_user(session: Session, user: User, kind: str, **context: Any) -> EmailMessage | None:
    """Queue an email of `kind` to `user` (greeted by name); None without an address."""
    if not user.email:
        return None
    return delivery.enqueue_email(
        session, kind=kind, to=user.email, context={"name": display_name(user), **context}
    )


def _notify_admins(session: Session, result: TransitionResult, user: User) -> list[EmailMessage]:
    context = {
        "requester_name": display_name(user),
        "requester_email": user.email or "no email",
        "requester_username": user.username,
        "target_name": target_name(session, result.target),
        "reason": result.membership.request_reason,
        "review_url": review_url(user.id),
    }
    return [
        delivery.enqueue_email(
            session, kind="access_requested", to=delivery.role_recipient(role_name), context=context
        )
        for role_name in admin_roles(session, result.target)
    ]


def admin_roles(session: Session, target: Target) -> list[str]:
    """The admin roles of a platform/group; the super-admin roles when it has none."""
    tables = target.tables
    query = select(tables.admin_role.role_name).where(tables.admin_role_key() == target.id)
    roles = sorted(session.exec(query))
    return roles or list(get_settings().admin_roles)


def target_name(session: Session, target: Target) -> str:
    row = cast(Platform | Group | None, session.get(target.tables.catalog, target.id))
    return row.name if row is not None else target.id


def display_name(user: User) -> str:
    return user.given_name or user.name or user.username or user.email or user.id


def review_url(user_id: str) -> str:
    return f"{get_settings().portal_url}/admin/users/{quote(user_id, safe='')}"
