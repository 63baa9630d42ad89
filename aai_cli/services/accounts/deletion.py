"""Deleting an account (by the person or an admin) and restoring it.

Delete: Auth0 blocks the user (the change that must happen: refused or down, nothing
changes here), then ends their sessions and deletes their refresh tokens (best effort: a
failure is reported in `problems` and logged). Here, in one transaction: the row
soft-deleted (`deleted_at`; `blocked`), a `deleted` history row with who and why, the
memberships kept as they are, a role change queued to remove each Auth0 access role the
approved memberships gave (the role outbox pushes it), and a confirmation email. A
blocked, deleted account stays deleted through the sync. Restore reverses it: Auth0
unblocks, the row is live again, a `restored` history row, the approved memberships' roles
queued back.
"""

from __future__ import annotations

import logging

from sqlmodel import Session, col, select

from aai_cli.errors import AaiError, InvalidInput
from aai_cli.models import TARGET_TABLES, User, utcnow
from aai_cli.services.access import role_outbox
from aai_cli.services.access.registration_rules import email_error, reason_error
from aai_cli.services.accounts import history
from aai_cli.services.accounts.results import AccountChange, FieldInvalid
from aai_cli.services.accounts.steps import (
    Gateway,
    email_person,
    greeting,
    read_account,
    write_account,
)

log = logging.getLogger(__name__)

SELF_DELETION = "User self-deletion"
REASON_MAX = 1024


def delete(
    user_id: str,
    *,
    actor: str,
    reason: str | None,
    gateway: Gateway,
    notify: str | None = None,
    url: str | None = None,
) -> AccountChange:
    """Soft-delete the account (see the module docstring). A self-deletion (`actor` is
    the user) records "User self-deletion" when no reason is given. `notify` sends the
    confirmation to that address instead of the account's (a mistyped registration)."""
    reason = (reason or "").strip() or (SELF_DELETION if actor == user_id else None)
    error = reason_error(reason, REASON_MAX)
    if error:
        raise FieldInvalid("reason", error)
    account = read_account(user_id, url=url)
    gateway.block_user(user_id)
    change = AccountChange(user_id, "deleted", actor=actor, reason=reason)
    try:
        gateway.revoke_sessions(user_id)
    except AaiError as exc:
        log.warning("sessions of deleted user %s not revoked: %s", user_id, exc)
        change.problems.append(f"sessions not revoked: {exc}")

    def apply(session: Session, user: User) -> None:
        user.deleted_at, user.blocked = utcnow(), True
        history.record_event(session, user_id=user_id, kind="deleted", actor=actor, reason=reason)
        change.role_change_ids = _queue_roles(session, user_id, "remove")
        kind = "account_deleted_invalid_email" if notify else "account_deleted"
        sent = email_person(
            session, to=notify or account.email, kind=kind, name=greeting(user),
            username=account.username or "", email=account.email or "",
        )  # fmt: skip
        change.emails = int(sent is not None)

    write_account(user_id, apply, url=url)
    return change


def delete_invalid_email(
    user_id: str, *, correct_email: str, actor: str, gateway: Gateway, url: str | None = None
) -> AccountChange:
    """Delete an account registered under a mistyped (never verified) address and tell
    the person at the address they own; nothing is sent to the mistyped one."""
    correct_email = correct_email.strip().lower()
    error = email_error(correct_email)
    if error:
        raise FieldInvalid("correct_email", error)
    account = read_account(user_id, url=url)
    if account.email_verified:
        raise InvalidInput("The user's email address is verified: use delete instead.")
    if (account.email or "").lower() == correct_email:
        raise FieldInvalid("correct_email", "the correct address is the registered one")
    reason = f"invalid email {account.email}; correct address {correct_email}"
    return delete(
        user_id, actor=actor, reason=reason, gateway=gateway, notify=correct_email, url=url
    )


def restore(
    user_id: str, *, actor: str, reason: str | None, gateway: Gateway, url: str | None = None
) -> AccountChange:
    """Bring a soft-deleted account back (Auth0 unblocks it first)."""
    reason = (reason or "").strip() or None
    error = reason_error(reason, REASON_MAX)
    if error:
        raise FieldInvalid("reason", error)
    read_account(user_id, url=url, deleted=True)
    remote = gateway.block_user(user_id, blocked=False)
    change = AccountChange(user_id, "restored", actor=actor, reason=reason)

    def apply(session: Session, user: User) -> None:
        user.deleted_at, user.blocked = None, False
        if remote.updated_at is not None:
            user.updated_at = remote.updated_at
        history.record_event(session, user_id=user_id, kind="restored", actor=actor, reason=reason)
        change.role_change_ids = _queue_roles(session, user_id, "assign")

    write_account(user_id, apply, url=url)
    return change


def _queue_roles(session: Session, user_id: str, action: str) -> list[int]:
    """One role change per Auth0 access role the user's approved memberships give."""
    roles: set[str] = set()
    for tables in TARGET_TABLES.values():
        roles.update(
            session.exec(
                select(tables.access_role_column())
                .join(tables.membership, tables.membership_key() == col(tables.catalog.id))
                .where(
                    col(tables.membership.user_id) == user_id,
                    col(tables.membership.status) == "approved",
                )
            )
        )
    return [
        role_outbox.enqueue_role_change(session, user_id=user_id, role_name=role, action=action).id
        or 0
        for role in sorted(roles)
    ]
