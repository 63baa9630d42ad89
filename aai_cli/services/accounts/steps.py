"""The three steps every account change takes, so that no transaction is open while Auth0
answers and nothing changes here when Auth0 refuses:

1. read (a short read-only transaction): the account as it is now (`read_account`);
2. the Auth0 call, with no transaction open (the caller's gateway);
3. write (one short transaction, `write_account`): the mirrored fields, one history row,
   the emails and role changes it calls for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Protocol

from sqlmodel import Session

from aai_cli.db import session_scope
from aai_cli.errors import Conflict, NotFound
from aai_cli.models import EmailMessage, User
from aai_cli.services.access import notifications
from aai_cli.services.auth0.gateway import Auth0User
from aai_cli.services.email import delivery


class Gateway(Protocol):
    def get_user(self, user_id: str) -> Auth0User | None: ...
    def update_user(self, user_id: str, **fields: Any) -> Auth0User: ...
    def block_user(self, user_id: str, *, blocked: bool = True) -> Auth0User: ...
    def revoke_sessions(self, user_id: str) -> None: ...
    def check_password(self, username: str, password: str) -> bool: ...
    def send_verification_email(self, user_id: str) -> str: ...
    def create_password_change_ticket(
        self, user_id: str, *, result_url: str | None = None, ttl_sec: int | None = None
    ) -> str: ...


@dataclass(frozen=True)
class Account:
    """The account as read in step 1 (plain values: no session outlives the read)."""

    id: str
    email: str | None
    email_verified: bool
    username: str | None
    name: str | None
    given_name: str | None
    family_name: str | None
    deleted_at: datetime | None

    @property
    def display_name(self) -> str:
        return self.given_name or self.name or self.username or self.email or self.id


def read_account(user_id: str, *, url: str | None = None, deleted: bool = False) -> Account:
    """The live account (or, with `deleted`, the soft-deleted one); NotFound/Conflict."""
    with session_scope(url, readonly=True) as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound(f"User '{user_id}' not found")
        if deleted and user.deleted_at is None:
            raise Conflict(f"user {user_id} is not deleted")
        if not deleted and user.deleted_at is not None:
            raise NotFound(f"User '{user_id}' not found")
        return Account(**{f.name: getattr(user, f.name) for f in fields(Account)})


def write_account(
    user_id: str, apply: Callable[[Session, User], None], *, url: str | None = None
) -> None:
    """Step 3: `apply` changes the row (and adds history, emails, role changes) in one
    short transaction."""
    with session_scope(url) as session:
        user = session.get(User, user_id)
        if user is None:  # the row was there in step 1: rows are never removed
            raise NotFound(f"User '{user_id}' not found")
        apply(session, user)
        session.add(user)


def mirror(user: User, remote: Auth0User, *names: str) -> None:
    """Copy Auth0's answer into the row: the named fields and `updated_at` (so a sync
    that read Auth0 before the change does not write the older record over it)."""
    for name in names:
        setattr(user, name, getattr(remote, name))
    if remote.updated_at is not None:
        user.updated_at = remote.updated_at


def email_person(
    session: Session, *, to: str | None, kind: str, name: str, **context: Any
) -> EmailMessage | None:
    if not to:
        return None
    return delivery.enqueue_email(session, kind=kind, to=to, context={"name": name, **context})


def greeting(user: User) -> str:
    return notifications.display_name(user)
