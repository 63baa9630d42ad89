"""Username, email (set by an admin), name and password changes, and the password-reset
link: each made in Auth0 first, then mirrored here with a history row (see `steps`)."""

from __future__ import annotations

import logging
import re
from urllib.parse import urlencode

from sqlmodel import Session

from aai_cli.db import session_scope
from aai_cli.errors import AaiError, InvalidInput
from aai_cli.models import User
from aai_cli.services.access.registration_rules import (
    email_error,
    name_error,
    password_error,
    username_error,
)
from aai_cli.services.accounts import history
from aai_cli.services.accounts.results import (
    EMAIL_TAKEN,
    USERNAME_TAKEN,
    AccountChange,
    FieldInvalid,
    NotSupported,
)
from aai_cli.services.accounts.steps import (
    Gateway,
    email_person,
    greeting,
    mirror,
    read_account,
    write_account,
)
from aai_cli.services.auth0.gateway import Auth0Conflict, Auth0User
from aai_cli.settings import get_settings

log = logging.getLogger(__name__)

NAME_PART_MAX = 150
NAME_MAX = 300
RESET_TICKET_TTL_S = 24 * 3600
AVATAR_URL = "https://ui-avatars.com/api/"
_ASCII_LETTER = re.compile(r"[A-Za-z]")


def rename(
    user_id: str, *, username: str, actor: str, gateway: Gateway, url: str | None = None
) -> AccountChange:
    """Change the username (Auth0, then here); the user is told at their email. A
    username held or once used by another account is refused, and through self-service
    (`actor` is the user) so is one of the user's own former usernames."""
    username = username.strip()
    error = username_error(username)
    if error:
        raise FieldInvalid("username", error)
    account = read_account(user_id, url=url)
    if account.username == username:
        raise FieldInvalid("username", "Username is already set to that value")
    with session_scope(url, readonly=True) as session:
        taken = history.username_taken(
            session, username, user_id=user_id, own_history=actor == user_id
        )
    if taken:
        raise FieldInvalid("username", USERNAME_TAKEN)
    try:
        remote = gateway.update_user(user_id, username=username)
    except Auth0Conflict:
        raise FieldInvalid("username", USERNAME_TAKEN) from None
    change = AccountChange(user_id, "username", account.username, username, actor)

    def apply(session: Session, user: User) -> None:
        mirror(user, remote, "username")
        history.record_event(
            session, user_id=user_id, kind="username", actor=actor,
            old_value=account.username, new_value=username,
        )  # fmt: skip
        sent = email_person(
            session, to=user.email, kind="username_changed", name=greeting(user),
            old_username=account.username or "", new_username=username,
        )  # fmt: skip
        change.emails = int(sent is not None)

    write_account(user_id, apply, url=url)
    return change


def check_new_email(session: Session, email: str, *, user_id: str) -> str:
    """The address normalised (trimmed, lower-case), or a field error on `email`."""
    email = email.strip().lower()
    error = email_error(email)
    if error:
        raise FieldInvalid("email", error)
    if history.email_taken(session, email, user_id=user_id):
        raise FieldInvalid("email", EMAIL_TAKEN)
    return email


def set_email(
    user_id: str, *, email: str, actor: str, gateway: Gateway, url: str | None = None
) -> AccountChange:
    """An admin sets the address directly (no code): Auth0 gets it unverified, the old
    address is told, then Auth0 sends its verification email to the new one (best
    effort: a failure is reported in `problems`, the change stands)."""
    account = read_account(user_id, url=url)
    if (account.email or "").lower() == email.strip().lower():
        raise FieldInvalid("email", "Email address is already set to that value")
    with session_scope(url, readonly=True) as session:
        email = check_new_email(session, email, user_id=user_id)
    try:
        remote = gateway.update_user(user_id, email=email, email_verified=False)
    except Auth0Conflict:
        raise FieldInvalid("email", EMAIL_TAKEN) from None
    change = AccountChange(user_id, "email", account.email, email, actor)
    record_email_change(change, remote, old_email=account.email, url=url)
    try:
        gateway.send_verification_email(user_id)
    except AaiError as exc:
        log.warning("verification email for %s not started: %s", user_id, exc)
        change.problems.append(f"verification email not sent: {exc}")
    return change


def record_email_change(
    change: AccountChange, remote: Auth0User, *, old_email: str | None, url: str | None
) -> None:
    """Step 3 of an email change (admin or code): the row, the history, the notice to
    the old address."""

    def apply(session: Session, user: User) -> None:
        mirror(user, remote, "email", "email_verified")
        history.record_event(
            session, user_id=change.user_id, kind="email", actor=change.actor,
            old_value=old_email, new_value=change.new_value, reason=change.reason,
        )  # fmt: skip
        sent = email_person(
            session, to=old_email, kind="email_changed", name=greeting(user),
            old_email=old_email or "", new_email=change.new_value or "",
        )  # fmt: skip
        change.emails = int(sent is not None)

    write_account(change.user_id, apply, url=url)


def update_name(
    user_id: str,
    *,
    first_name: str,
    last_name: str,
    actor: str,
    gateway: Gateway,
    url: str | None = None,
) -> AccountChange:
    """Given, family and full name in Auth0 (and the initials avatar as picture when both
    names have an ASCII letter), then here."""
    first, last = first_name.strip(), last_name.strip()
    for field_name, value in (("first_name", first), ("last_name", last)):
        error = name_error(value) or (
            f"at most {NAME_PART_MAX} characters" if len(value) > NAME_PART_MAX else None
        )
        if error:
            raise FieldInvalid(field_name, error)
    full = f"{first} {last}"
    if len(full) > NAME_MAX:
        raise FieldInvalid("last_name", f"the whole name must be at most {NAME_MAX} characters")
    account = read_account(user_id, url=url)
    fields: dict[str, str] = {"given_name": first, "family_name": last, "name": full}
    picture = initials_avatar(first, last)
    if picture:
        fields["picture"] = picture
    remote = gateway.update_user(user_id, **fields)
    change = AccountChange(user_id, "name", account.name, full, actor)

    def apply(session: Session, user: User) -> None:
        mirror(user, remote, "name", "given_name", "family_name", "picture")
        history.record_event(
            session, user_id=user_id, kind="name", actor=actor,
            old_value=account.name, new_value=full,
        )  # fmt: skip

    write_account(user_id, apply, url=url)
    return change


def initials_avatar(first: str, last: str) -> str | None:
    """An avatar made of the two lower-case ASCII initials on a random background."""
    a, b = _ASCII_LETTER.search(first), _ASCII_LETTER.search(last)
    if a is None or b is None:
        return None
    initials = (a.group() + b.group()).lower()
    return AVATAR_URL + "?" + urlencode({"name": initials, "background": "random"})


def change_password(
    user_id: str,
    *,
    current_password: str,
    new_password: str,
    gateway: Gateway,
    url: str | None = None,
) -> AccountChange:
    """Set a new password once Auth0 accepts the current one. Nothing is stored here and
    no password is ever logged or put in a message."""
    error = password_error(new_password)
    if error:
        raise FieldInvalid("new_password", error)
    if new_password == current_password:
        raise FieldInvalid("new_password", "the new password must differ from the current one")
    read_account(user_id, url=url)
    remote = gateway.get_user(user_id)
    connection = get_settings().auth0_db_connection
    if remote is None or not any(i.get("connection") == connection for i in remote.identities):
        raise NotSupported("Password changes are not supported for this account.")
    login = remote.username or remote.email or ""
    if not gateway.check_password(login, current_password):
        raise FieldInvalid("currentPassword", "Current password is incorrect")
    try:
        gateway.update_user(user_id, password=new_password)
    except InvalidInput:
        raise FieldInvalid("new_password", "Auth0 refused the new password") from None
    return AccountChange(user_id, "password", actor=user_id)


def send_password_reset(
    user_id: str, *, actor: str, gateway: Gateway, url: str | None = None
) -> AccountChange:
    """A one-use Auth0 link to set a new password, emailed to the user (via the outbox)."""
    account = read_account(user_id, url=url)
    if not account.email:
        raise NotSupported("User does not have an email address.")
    link = gateway.create_password_change_ticket(user_id, ttl_sec=RESET_TICKET_TTL_S)
    change = AccountChange(user_id, "password_reset", actor=actor)
    with session_scope(url) as session:
        sent = email_person(
            session, to=account.email, kind="password_reset", name=account.display_name,
            reset_url=link, hours=RESET_TICKET_TTL_S // 3600,
        )  # fmt: skip
        change.emails = int(sent is not None)
    return change
