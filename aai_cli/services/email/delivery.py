"""The email outbox: render from templates, enqueue in the caller's transaction, deliver later.

`enqueue_email` renders the subject, a plain-text part and an HTML part (Jinja2, HTML
autoescaped) and adds an `email_outbox` row; it never sends. `deliver_pending` is a job
(run by an API background task after commit and by the scheduler): it claims each due row
with a lease, sends it through `EMAIL_BACKEND` (console or smtp) and records the outcome.
A recipient `role:<name>` (the admins of a platform or group) is expanded at delivery into
one row per member of that Auth0 role, each delivered and retried on its own.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import ColumnElement, or_
from sqlmodel import Session, col, select

from aai_cli.db import session_scope
from aai_cli.errors import AaiError, InvalidInput
from aai_cli.models import EmailMessage, utcnow
from aai_cli.services import leases
from aai_cli.services.auth0 import get_gateway
from aai_cli.services.email import backends
from aai_cli.settings import get_settings

log = logging.getLogger(__name__)

SUBJECTS = {
    "registration": "Your Australian BioCommons account has been created",
    "access_requested": "New access request for {target_name}",
    "request_received": "Your {target_name} Service Bundle request has been received",
    "access_approved": "Your access to {target_name} has been approved",
    "access_rejected": "Your request for {target_name} has been declined",
    "access_revoked": "Your access to {target_name} has been revoked",
    "email_change_code": "Confirm your new BioCommons Access email address",
    "username_changed": "Your Biocommons Access username was updated",
    "email_changed": "Your Biocommons Access email address was updated",
    "password_reset": "Reset your BioCommons Access password",
    "account_deleted": "Your BioCommons Access account has been deleted",
    "account_deleted_invalid_email": "A BioCommons Access account with your address was deleted",
    "welcome": "Welcome to BioCommons Access",
}
ROLE_PREFIX = "role:"
# what a `role:` email's copy to each member keeps
CONTENT = ("kind", "subject", "body_text", "body_html")
LEASE = timedelta(minutes=10)
MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=6)


def role_recipient(role_name: str) -> str:
    """The outbox address meaning "every member of this Auth0 role"."""
    return ROLE_PREFIX + role_name


@lru_cache(maxsize=1)
def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=PackageLoader("aai_cli", "templates/email"),
        autoescape=select_autoescape(["html"], default_for_string=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def render(kind: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, text, html) of an email of `kind`; user text is escaped in the HTML part."""
    if kind not in SUBJECTS:
        raise InvalidInput(f"unknown email kind: {kind} (one of {', '.join(SUBJECTS)})")
    context = {"portal_url": get_settings().portal_url, **context}
    env = _environment()
    subject = SUBJECTS[kind].format_map(_Defaulting(context))
    text = env.get_template(f"{kind}.txt").render(context)
    html = env.get_template(f"{kind}.html").render(context)
    return _one_line(subject), text, html


class _Defaulting(dict):
    def __missing__(self, key: str) -> str:
        return ""


def _one_line(value: str) -> str:
    """Headers never carry a line break (no header injection through a name)."""
    return re.sub(r"\s+", " ", value).strip()[:200]


def enqueue_email(session: Session, *, kind: str, to: str, context: dict[str, Any]) -> EmailMessage:
    """Render and queue an email in the caller's transaction; delivered after commit."""
    if not to.startswith(ROLE_PREFIX) and "@" not in to:
        raise InvalidInput(f"not an email address: {to!r}")
    subject, text, html = render(kind, context)
    message = _queued(
        utcnow(), kind=kind, to_address=to, subject=subject, body_text=text, body_html=html
    )
    session.add(message)
    session.flush()
    return message


def backoff(attempts: int) -> timedelta:
    """Delay before the next attempt after `attempts` failed ones (1 min, 2, 4, ... 6 h)."""
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(
        (col(EmailMessage.status) == "pending") & (col(EmailMessage.next_attempt_at) <= now),
        (col(EmailMessage.status) == "sending") & (col(EmailMessage.lease_until) < now),
    )


def _due_ids(session: Session, now: datetime, limit: int, seen: set[int]) -> list[int]:
    query = select(col(EmailMessage.id)).where(_due(now))
    if seen:
        query = query.where(col(EmailMessage.id).not_in(seen))
    ids = session.exec(query.order_by(col(EmailMessage.id)).limit(limit))
    # stored rows have ids (the model types the primary key optional)
    return [cast(int, id_) for id_ in ids]


def _claim(session: Session, message_id: int, now: datetime) -> EmailMessage | None:
    """Take the row with a lease (compare-and-set: only one worker wins); commits."""
    won = leases.claim(
        session,
        EmailMessage,
        [message_id],
        due=_due(now),
        values={
            "status": "sending",
            "lease_until": now + LEASE,
            "attempts": EmailMessage.attempts + 1,
        },
    )
    return won[0] if won else None


def deliver_pending(session: Session, *, now: datetime | None = None, limit: int = 50) -> dict:
    """Deliver up to `limit` due emails; returns counts by outcome.

    A job, not a plain service: it commits after each claim and each outcome so a lease is
    visible to other workers and no transaction stays open while SMTP talks. A row left in
    `sending` by a crashed worker is retried once its lease has passed.
    """
    now = now or utcnow()
    counts = {"sent": 0, "expanded": 0, "retry": 0, "dead": 0, "skipped": 0}
    seen: set[int] = set()
    # Leases count from `now`: stop claiming while each new claim still has at least half
    # a lease ahead of it (the rest waits for the next run).
    deadline = time.monotonic() + LEASE.total_seconds() / 2
    with backends.open_backend(get_settings()) as backend:
        while len(seen) < limit and time.monotonic() < deadline:
            ids = _due_ids(session, now, limit - len(seen), seen)
            session.commit()
            if not ids:
                break
            for message_id in ids:
                if time.monotonic() >= deadline:
                    break
                seen.add(message_id)
                message = _claim(session, message_id, now)
                if message is None:
                    counts["skipped"] += 1
                    continue
                counts[_deliver_one(session, backend, message, now)] += 1
                session.commit()
    return counts


def _deliver_one(session: Session, backend: Any, message: EmailMessage, now: datetime) -> str:
    try:
        if message.to_address.startswith(ROLE_PREFIX):
            outcome = _expand(session, message, now)
        else:
            backend.send(message)
            outcome = "sent"
    except backends.EmailRejected as exc:
        return _give_up(session, message, str(exc))
    except AaiError as exc:
        return _fail(session, message, str(exc), now)
    if outcome == "sent" or outcome == "expanded":
        message.status = "sent"
        message.sent_at = now
        message.lease_until = None
        message.last_error = None
        session.add(message)
    return outcome


def _fail(session: Session, message: EmailMessage, error: str, now: datetime) -> str:
    if message.attempts >= MAX_ATTEMPTS:
        return _give_up(session, message, error)
    message.status = "pending"
    message.lease_until = None
    message.next_attempt_at = now + backoff(message.attempts)
    message.last_error = error[:2000]
    session.add(message)
    log.warning(
        "email %s to %s failed (attempt %s): %s", message.id, _who(message), message.attempts, error
    )
    return "retry"


def _give_up(session: Session, message: EmailMessage, error: str) -> str:
    message.status = "dead"
    message.lease_until = None
    message.last_error = error[:2000]
    session.add(message)
    log.error("email %s to %s given up: %s", message.id, _who(message), error)
    return "dead"


def _who(message: EmailMessage) -> str:
    return message.to_address if message.to_address.startswith(ROLE_PREFIX) else "<recipient>"


def _expand(session: Session, message: EmailMessage, now: datetime) -> str:
    """Replace a `role:` row by one row per member email of that Auth0 role."""
    role_name = message.to_address.removeprefix(ROLE_PREFIX)
    addresses = role_member_emails(role_name)
    if not addresses:
        raise backends.EmailRejected(f"no recipients: role {role_name} has no members")
    content = {name: getattr(message, name) for name in CONTENT}
    for address in sorted(addresses):
        session.add(_queued(now, to_address=address, **content))
    return "expanded"


def _queued(now: datetime, **values: Any) -> EmailMessage:
    """A new email, due at once."""
    return EmailMessage(**values, status="pending", next_attempt_at=now, created_at=now)


def role_member_emails(role_name: str) -> list[str]:
    """The distinct emails of the members of an Auth0 role ([] when the role is unknown)."""

    gateway = get_gateway()
    role = gateway.role_by_name(role_name)
    if role is None:
        return []
    emails: dict[str, None] = {}
    for member in gateway.iter_role_members(role.id):
        email = getattr(member, "email", None)
        if email:
            emails.setdefault(str(email).lower(), None)
    return list(emails)


def run_delivery(url: str | None = None, *, limit: int = 50) -> dict:
    """Deliver due emails in a session of its own (the entry point of jobs and tasks)."""

    with session_scope(url) as session:
        return deliver_pending(session, limit=limit)
