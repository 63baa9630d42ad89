"""Account routes (issue #14): the caller's own profile changes (`/me/profile/...`) and an
admin's changes to a user's account (`/admin/users/{user_id}/...`), each a thin call to
`aai_cli.services.accounts`.

The services make each change in Auth0 first and own their transactions, so these routes
read only what they check (the caller, the admin's scope) and end the request's
transaction before the service runs: no transaction is held while Auth0 answers. The role
changes and emails a change queues are pushed and delivered after the response.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Path
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from aai_cli.errors import NotFound, ServiceUnavailable
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
)
from api.followup import schedule_after_commit

me_router = APIRouter(prefix="/me/profile", tags=["me"])
admin_router = APIRouter(prefix="/admin/users", tags=["admin"])

Item = dict[str, Any]
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


def _gateway(source: Any) -> Any:
    if source is None:
        raise ServiceUnavailable("the Auth0 Management API is not set up")
    return source


def _follow(background: BackgroundTasks, change: accounts.AccountChange) -> None:
    """After the response: push the change's role changes, deliver its emails."""
    schedule_after_commit(background, change.role_change_ids, deliver_emails=change.emails > 0)


def _start(session: Session, source: Any) -> Any:
    """End the request's read transaction (the service owns its own) and give the gateway."""
    gateway = _gateway(source)
    end_transaction(session)
    return gateway


# --- the caller's own account ---------------------------------------------------------


@me_router.post("/name/update", summary="Change the caller's first and last name (C7)")
def update_name(
    me: ActiveMeDep,
    session: SessionDep,
    source: UserSourceDep,
    background: BackgroundTasks,
    body: NameBody,
) -> Item:
    gateway = _start(session, source)
    change = accounts.update_name(
        me.id, first_name=body.first_name, last_name=body.last_name, actor=me.id, gateway=gateway
    )
    _follow(background, change)
    return {"message": "Name updated successfully.", "name": change.new_value}


@me_router.post("/username/update", summary="Change the caller's username (C8)")
def update_username(
    me: ActiveMeDep,
    session: SessionDep,
    source: UserSourceDep,
    background: BackgroundTasks,
    body: UsernameBody,
) -> Item:
    gateway = _start(session, source)
    change = accounts.rename(me.id, username=body.username, actor=me.id, gateway=gateway)
    _follow(background, change)
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
def confirm_email_change(
    me: ActiveMeDep,
    session: SessionDep,
    source: UserSourceDep,
    background: BackgroundTasks,
    body: CodeBody,
) -> Item:
    gateway = _start(session, source)
    change = accounts.confirm_email_change(me.id, code=body.otp, gateway=gateway)
    _follow(background, change)
    return {"message": "Email updated successfully.", "email": change.new_value}


@me_router.post("/password/update", summary="Change the caller's password (C11)")
def change_password(
    me: ActiveMeDep, session: SessionDep, source: UserSourceDep, body: PasswordBody
) -> Item:
    gateway = _start(session, source)
    accounts.change_password(
        me.id,
        current_password=body.current_password,
        new_password=body.new_password,
        gateway=gateway,
    )
    return {"message": "Password updated successfully"}


@me_router.post("/delete", summary="Delete the caller's own account (C12)")
def delete_me(
    me: ActiveMeDep,
    session: SessionDep,
    source: UserSourceDep,
    background: BackgroundTasks,
    body: Body | None = None,
) -> Item:
    gateway = _start(session, source)
    change = accounts.delete(me.id, actor=me.id, reason=None, gateway=gateway)
    _follow(background, change)
    return {"message": "Account deleted successfully."}


# --- an admin on a user's account -------------------------------------------------------


def _managed(session: Session, who: scopes.Administered, caller: str, user_id: str) -> None:
    """The C17 rule (404 for a missing or deleted user, 403 out of scope), and nobody
    changes their own account through the admin routes."""
    scopes.require_managed_user(session, who, user_id)
    _not_self(caller, user_id)


def _not_self(caller: str, user_id: str) -> None:
    if caller == user_id:
        raise scopes.Forbidden("You cannot manage your own account here; use your profile.")


def _platform_managed(
    session: Session, who: scopes.Administered, caller: str, user_id: str
) -> None:
    """C22/C23: the caller administers a platform the user has a membership of (any
    status); a group-only admin is refused."""
    record = scopes.require_managed_user(session, who, user_id)
    if not who.super_admin and not record.within(
        AdminScope(platforms=who.platforms, groups=frozenset())
    ):
        raise scopes.Forbidden("You do not have permission to delete this user.")
    _not_self(caller, user_id)


@admin_router.post("/{user_id}/username/update", summary="Change a user's username (C19)")
def admin_rename(
    user_id: UserId,
    who: AdminDep,
    caller: CallerDep,
    session: SessionDep,
    source: UserSourceDep,
    background: BackgroundTasks,
    body: UsernameBody,
) -> Item:
    _managed(session, who, caller.sub, user_id)
    gateway = _start(session, source)
    change = accounts.rename(user_id, username=body.username, actor=caller.sub, gateway=gateway)
    _follow(background, change)
    return {"message": "User's username updated successfully."}


@admin_router.post("/{user_id}/email/update", summary="Set a user's email address (C20)")
def admin_set_email(
    user_id: UserId,
    who: AdminDep,
    caller: CallerDep,
    session: SessionDep,
    source: UserSourceDep,
    background: BackgroundTasks,
    body: EmailBody,
) -> Item:
    _managed(session, who, caller.sub, user_id)
    gateway = _start(session, source)
    change = accounts.set_email(user_id, email=body.email, actor=caller.sub, gateway=gateway)
    _follow(background, change)
    return {"message": "Email updated. Verification email sent.", "problems": change.problems}


@admin_router.post(
    "/{user_id}/password-reset-email", summary="Email the user a password-reset link (C21)"
)
def admin_password_reset(
    user_id: UserId,
    who: AdminDep,
    caller: CallerDep,
    session: SessionDep,
    source: UserSourceDep,
    background: BackgroundTasks,
    body: Body | None = None,
) -> Item:
    _managed(session, who, caller.sub, user_id)
    gateway = _start(session, source)
    change = accounts.send_password_reset(user_id, actor=caller.sub, gateway=gateway)
    _follow(background, change)
    return {"message": "Password reset email sent."}


@admin_router.post("/{user_id}/delete", summary="Delete a user's account (C22)")
def admin_delete(
    user_id: UserId,
    who: AdminDep,
    caller: CallerDep,
    session: SessionDep,
    source: UserSourceDep,
    background: BackgroundTasks,
    body: ReasonBody | None = None,
) -> Item:
    _platform_managed(session, who, caller.sub, user_id)
    gateway = _start(session, source)
    reason = body.reason if body else None
    change = accounts.delete(user_id, actor=caller.sub, reason=reason, gateway=gateway)
    _follow(background, change)
    return {"message": f"User {user_id} deleted successfully."}


@admin_router.post(
    "/{user_id}/delete_invalid_email",
    summary="Delete an account registered under a mistyped address and tell the person (C23)",
)
def admin_delete_invalid_email(
    user_id: UserId,
    who: AdminDep,
    caller: CallerDep,
    session: SessionDep,
    source: UserSourceDep,
    background: BackgroundTasks,
    body: CorrectEmailBody,
) -> Item:
    _platform_managed(session, who, caller.sub, user_id)
    gateway = _start(session, source)
    change = accounts.delete_invalid_email(
        user_id, correct_email=body.correct_email, actor=caller.sub, gateway=gateway
    )
    _follow(background, change)
    return {"message": "User deleted and notification sent."}


@admin_router.post("/{user_id}/restore", summary="Restore a deleted account (super-admins)")
def admin_restore(
    user_id: UserId,
    who: AdminDep,
    caller: CallerDep,
    session: SessionDep,
    source: UserSourceDep,
    background: BackgroundTasks,
    body: ReasonBody | None = None,
) -> Item:
    """A deleted user is in no admin's list, so only a super-admin restores one."""
    if not who.super_admin:
        raise scopes.Forbidden("Only a BioCommons admin may restore a deleted account.")
    _not_self(caller.sub, user_id)
    if session.get(User, user_id) is None:
        raise NotFound(f"User '{user_id}' not found")
    gateway = _start(session, source)
    reason = body.reason if body else None
    change = accounts.restore(user_id, actor=caller.sub, reason=reason, gateway=gateway)
    _follow(background, change)
    return {"message": f"User {user_id} restored."}
