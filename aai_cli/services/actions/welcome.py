"""The welcome email: one per person, only to a verified Auth0 account.

The public route that asks for it (the portal's email-verified page, called on every visit)
names only an address. Knowing an address proves nothing, so the answer is the same
whatever happens, and the email goes only to a verified Auth0 account of that address,
once: `welcome_emails` is keyed by the Auth0 user, so a second request, or two at once,
queue nothing.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from aai_cli.db import session_scope
from aai_cli.errors import InvalidInput
from aai_cli.models import User, WelcomeEmail
from aai_cli.services.access.registration_rules import email_error
from aai_cli.services.email import delivery

MAX_EMAIL_LENGTH = 320


class Directory(Protocol):
    """What the welcome needs of Auth0 (the gateway)."""

    def users_by_email(self, email: str) -> list[Any]: ...


def normalise_address(email: str) -> str:
    address = email.strip().lower()
    if len(address) > MAX_EMAIL_LENGTH or email_error(address):
        raise InvalidInput("email: not an email address")
    return address


def send_welcome(email: str, *, gateway: Directory) -> bool:
    """Queue the welcome email for the verified Auth0 account of `email` unless it had
    one; True when queued. No transaction is open while Auth0 answers."""
    address = normalise_address(email)
    with session_scope(readonly=True) as session:
        if _welcomed_address(session, address):
            return False
    people = sorted(
        (
            person
            for person in gateway.users_by_email(address)
            if person.email_verified and (person.email or "").lower() == address
        ),
        key=lambda person: person.user_id,
    )
    if not people:
        return False
    with session_scope() as session:
        if any(session.get(WelcomeEmail, person.user_id) for person in people):
            return False
        first = people[0]
        return queue_welcome(session, user_id=first.user_id, email=address, name=first.name)


def queue_welcome(session: Session, *, user_id: str, email: str, name: str | None) -> bool:
    """Queue the welcome email in the caller's transaction unless `user_id` had one;
    True when queued. The key of `welcome_emails` decides, concurrent requests included."""
    if session.get(WelcomeEmail, user_id) is not None:
        return False
    try:
        with session.begin_nested():
            message = delivery.enqueue_email(
                session, kind="welcome", to=email, context={"name": name or email}
            )
            session.add(WelcomeEmail(user_id=user_id, email_id=message.id))
            session.flush()
    except IntegrityError:
        return False
    return True


def _welcomed_address(session: Session, address: str) -> bool:
    """Whether a person known here with this address was welcomed (no Auth0 call then)."""
    query = (
        select(WelcomeEmail.user_id)
        .join(User, col(User.id) == col(WelcomeEmail.user_id))
        .where(func.lower(User.email) == address)
        .limit(1)
    )
    return session.exec(query).first() is not None
