"""Account routes (issue #14): the caller's own profile changes (`/me/profile/...`) and an
admin's changes to a user's account (`/admin/users/{user_id}/...`), each a thin call to
`aai_cli.services.accounts`.

The services make each change in Auth0 first and own their transactions, so these routes
read only what they check (the caller, the admin's scope) and end the request's
transaction before the service runs: no transaction is held while Auth0 answers. The role
changes and emails a change queues are pushed and delivered after the response.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Path
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from aai_cli.errors import NotFound
from aai_cli.models import User
from aai_cli.services import accounts
from aai_cli.services.access import scopes
from aai_cli.services.directory.query import AdminScope
from api.deps import (
    ActiveMeDep,
    AdminDep,
    CallerDep,
    SessionDep,
    UserSourceDep,
    end_transaction,
    gateway_for_call,
)
from api.followup import schedule_after_commit
from api.routers import Item

me_router = APIRouter(prefix="/me/profile", tags=["me"])
admin_router = APIRouter(prefix="/admin/users", tags=["admin"])

UserId = Annotated[str, Path(min_length=1, max_length=255)]
# Generous bounds: the services apply the contract's rules and name the field at fault.
Text = Annotated[str, Field(max_length=1024)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NameBody(Body):
    first_name: Text
    last_name: Text


class UsernameBody(Body):
    username: Text


class EmailBody(Body):
    email: Text


class CodeBody(Body):
    otp: Annotated[str, Field(min_length=1, max_length=64)]


class PasswordBody(Body):
    current_password: Text
    new_password: Text


class ReasonBody(Body):
    reason: Annotated[str | None, Field(default=None, max_length=accounts.deletion.REASON_MAX)]


class CorrectEmailBody(Body):
    correct_email: Text


@dataclass
class Acting:
    """A change about to be made: on whose account, by whom, through which gateway; the
    request's read transaction has ended (the service owns its own)."""

    user_id: str
    actor: str
    gateway: Any
    background: BackgroundTasks

    def follow(self, change: accounts.AccountChange) -> None:
        """After the response: push the change's role changes, deliver its emails."""
        schedule_after_commit(
            self.background, change.role_change_ids, deliver_emails=change.emails > 0
        )

    def run(
        self, change_account: Callable[..., accounts.AccountChange], **fields: Any
    ) -> accounts.AccountChange:
        """Make the change (`change_account(user_id, **fields, actor=, gateway=)`), then
        follow it."""
        change = change_account(self.user_id, **fields, actor=self.actor, gateway=self.gateway)
        self.follow(change)
        return change


def _acting(
    session: Session, source: Any, background: BackgroundTasks, *, user_id: str, actor: str
) -> Acting:
    return Acting(user_id, actor, gateway_for_call(session, source), background)


def get_self(
    me: ActiveMeDep, session: SessionDep, source: UserSourceDep, background: BackgroundTasks
) -> Acting:
    """The caller on their own account (from the token; blocked or deleted: 403)."""
    return _acting(session, source, background, user_id=me.id, actor=me.id)


SelfDep = Annotated[Acting, Depends(get_self)]


# --- the caller's own account ---------------------------------------------------------


@me_router.post("/name/update", summary="Change the caller's first and last name (C7)")
def update_name(act: SelfDep, body: NameBody) -> Item:
    change = act.run(accounts.update_name, first_name=body.first_name, last_name=body.last_name)
    return {"message": "Name updated successfully.", "name": change.new_value}


@me_router.post("/username/update", summary="Change the caller's username (C8)")
def update_username(act: SelfDep, body: UsernameBody) -> Item:
    change = act.run(accounts.rename, username=body.username)
    return {"message": "Username updated successfully.", "username": change.new_value}


@me_router.post("/email/update", summary="Send a one-time code to a new email address (C9)")
def start_email_change(
    me: ActiveMeDep, session: SessionDep, background: BackgroundTasks, body: EmailBody
) -> Item:
    end_transaction(session)
    sent = accounts.start_email_change(me.id, email=body.email)
    schedule_after_commit(background, [], deliver_emails=True)
    return {"message": sent.message}


@me_router.post("/email/continue", summary="Confirm the email change with its code (C10)")
def confirm_email_change(act: SelfDep, body: CodeBody) -> Item:
    change = accounts.confirm_email_change(act.user_id, code=body.otp, gateway=act.gateway)
    act.follow(change)
    return {"message": "Email updated successfully.", "email": change.new_value}


@me_router.post("/password/update", summary="Change the caller's password (C11)")
def change_password(act: SelfDep, body: PasswordBody) -> Item:
    accounts.change_password(
        act.user_id, current_password=body.current_password,
        new_password=body.new_password, gateway=act.gateway,
    )  # fmt: skip
    return {"message": "Password updated successfully"}


@me_router.post("/delete", summary="Delete the caller's own account (C12)")
def delete_me(act: SelfDep, body: Body | None = None) -> Item:
    act.run(accounts.delete, reason=None)
    return {"message": "Account deleted successfully."}


# --- an admin on a user's account -------------------------------------------------------


@dataclass
class AdminCall:
    """An admin's call on the user of the path, before its checks."""

    user_id: str
    who: scopes.Administered
    actor: str
    session: Session
    source: Any
    background: BackgroundTasks

    def acting(self) -> Acting:
        if self.actor == self.user_id:
            raise scopes.Forbidden("You cannot manage your own account here; use your profile.")
        return _acting(
            self.session, self.source, self.background, user_id=self.user_id, actor=self.actor
        )


def get_admin_call(
    user_id: UserId,
    who: AdminDep,
    caller: CallerDep,
    session: SessionDep,
    source: UserSourceDep,
    background: BackgroundTasks,
) -> AdminCall:
    return AdminCall(user_id, who, caller.sub, session, source, background)


AdminCallDep = Annotated[AdminCall, Depends(get_admin_call)]


def get_managed(call: AdminCallDep) -> Acting:
    """The C17 rule (404 for a missing or deleted user, 403 out of scope), and nobody
    changes their own account through the admin routes."""
    scopes.require_managed_user(call.session, call.who, call.user_id)
    return call.acting()


def get_deletable(call: AdminCallDep) -> Acting:
    """C22/C23: the C17 rule, and the caller administers a platform the user has a
    membership of (any status); a group-only admin is refused."""
    record = scopes.require_managed_user(call.session, call.who, call.user_id)
    platforms = AdminScope(platforms=call.who.platforms, groups=frozenset())
    if not call.who.super_admin and not record.within(platforms):
        raise scopes.Forbidden("You do not have permission to delete this user.")
    return call.acting()


def get_restorable(call: AdminCallDep) -> Acting:
    """A deleted user is in no admin's list, so only a super-admin restores one."""
    if not call.who.super_admin:
        raise scopes.Forbidden("Only a BioCommons admin may restore a deleted account.")
    if call.session.get(User, call.user_id) is None:
        raise NotFound(f"User '{call.user_id}' not found")
    return call.acting()


ManagedDep = Annotated[Acting, Depends(get_managed)]
DeletableDep = Annotated[Acting, Depends(get_deletable)]
RestorableDep = Annotated[Acting, Depends(get_restorable)]


@admin_router.post("/{user_id}/username/update", summary="Change a user's username (C19)")
def admin_rename(act: ManagedDep, body: UsernameBody) -> Item:
    act.run(accounts.rename, username=body.username)
    return {"message": "User's username updated successfully."}


@admin_router.post("/{user_id}/email/update", summary="Set a user's email address (C20)")
def admin_set_email(act: ManagedDep, body: EmailBody) -> Item:
    change = act.run(accounts.set_email, email=body.email)
    return {"message": "Email updated. Verification email sent.", "problems": change.problems}


@admin_router.post(
    "/{user_id}/password-reset-email", summary="Email the user a password-reset link (C21)"
)
def admin_password_reset(act: ManagedDep, body: Body | None = None) -> Item:
    act.run(accounts.send_password_reset)
    return {"message": "Password reset email sent."}


@admin_router.post("/{user_id}/delete", summary="Delete a user's account (C22)")
def admin_delete(act: DeletableDep, body: ReasonBody | None = None) -> Item:
    act.run(accounts.delete, reason=body.reason if body else None)
    return {"message": f"User {act.user_id} deleted successfully."}


@admin_router.post(
    "/{user_id}/delete_invalid_email",
    summary="Delete an account registered under a mistyped address and tell the person (C23)",
)
def admin_delete_invalid_email(act: DeletableDep, body: CorrectEmailBody) -> Item:
    act.run(accounts.delete_invalid_email, correct_email=body.correct_email)
    return {"message": "User deleted and notification sent."}


@admin_router.post("/{user_id}/restore", summary="Restore a deleted account (super-admins)")
def admin_restore(act: RestorableDep, body: ReasonBody | None = None) -> Item:
    act.run(accounts.restore, reason=body.reason if body else None)
    return {"message": f"User {act.user_id} restored."}
