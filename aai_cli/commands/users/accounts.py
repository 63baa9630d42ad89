"""`aai users rename|set-email|reset-password|delete|restore`: account changes through the
account services (Auth0 first, then the database with a history row), then the Auth0
role changes they queued pushed after commit. Emails go through the outbox."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from aai_cli.commands import ActorOpt, JsonOpt, default_actor, interactive

if TYPE_CHECKING:
    from aai_cli.services.accounts import AccountChange

UserArg = Annotated[str, typer.Argument(help="Auth0 id, email or username.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
QUEUED = "Auth0 role change queued; will be pushed by the scheduler or the next sync"


def _user_id(user: str) -> tuple[str, str | None]:
    from aai_cli.db import session_scope
    from aai_cli.services import directory

    with session_scope(readonly=True) as session:
        found = directory.resolve_user(session, user)
        return found.id, found.email


def _confirmed(verb: str, user: str, yes: bool) -> str:
    """The user's id, once confirmed on a terminal (never asked without one, or with --yes)."""
    user_id, email = _user_id(user)
    if not yes and interactive():
        typer.confirm(f"{verb} {user_id} ({email})?", abort=True)
    return user_id


def _apply(
    user_id: str, change: Callable[..., AccountChange], actor: str | None, **values: Any
) -> AccountChange:
    """Run one account service on the user, as the actor, through the Auth0 gateway."""
    from aai_cli.services.auth0 import get_gateway

    return change(user_id, actor=actor or default_actor(), gateway=get_gateway(), **values)


def _set_value(
    user: str,
    change: Callable[..., AccountChange],
    field: str,
    value: str,
    actor: str | None,
    as_json: bool,
) -> None:
    """Set one identity value (`field`, the service's keyword) and report old -> new."""
    user_id, _ = _user_id(user)
    done = _apply(user_id, change, actor, **{field: value})
    _report(done, f"{user_id}: {field} {done.old_value} -> {done.new_value}", as_json)


def _report(change: AccountChange, summary: str, as_json: bool) -> None:
    from aai_cli import console
    from aai_cli.services import followups

    for problem in change.problems:
        console.warn(problem)
    if change.role_change_ids:
        push = followups.after_commit(change.role_change_ids, deliver_emails=False).push
        if push is not None and push.problem:
            console.warn(f"{push.problem}; {QUEUED}")
    if as_json:
        console.print_json(change)
    else:
        console.success(summary)


def rename(
    user: UserArg,
    username: Annotated[str, typer.Option("--username", help="The new username.")],
    actor: ActorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a user's username in Auth0 and here; the user is told by email."""
    from aai_cli.services import accounts

    _set_value(user, accounts.rename, "username", username, actor, as_json)


def set_email(
    user: UserArg,
    email: Annotated[str, typer.Argument(help="The new email address.")],
    actor: ActorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Set a user's email address; Auth0 asks them to verify it.

    The address is set unverified, Auth0 sends its verification email, the old address
    is told."""
    from aai_cli.services import accounts

    _set_value(user, accounts.set_email, "email", email, actor, as_json)


def reset_password(user: UserArg, actor: ActorOpt = None, as_json: JsonOpt = False) -> None:
    """Email the user a one-use Auth0 link to set a new password."""
    from aai_cli.services import accounts

    user_id, email = _user_id(user)
    change = _apply(user_id, accounts.send_password_reset, actor)
    _report(change, f"{user_id}: password reset link queued to {email}", as_json)


def delete(
    user: UserArg,
    reason: Annotated[str, typer.Option(help="Why (recorded in the history).")],
    actor: ActorOpt = None,
    yes: YesOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Delete a user: blocked in Auth0, soft-deleted here.

    Their sessions end, their memberships are kept and their Auth0 access roles removed;
    `aai users restore` reverses it."""
    from aai_cli.services import accounts

    user_id = _confirmed("delete", user, yes)
    change = _apply(user_id, accounts.delete, actor, reason=reason)
    _report(change, f"{user_id}: deleted", as_json)


def restore(
    user: UserArg,
    reason: Annotated[str | None, typer.Option(help="Why (recorded in the history).")] = None,
    actor: ActorOpt = None,
    yes: YesOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Restore a deleted user: unblocked in Auth0, live here, access roles given back."""
    from aai_cli.services import accounts

    user_id = _confirmed("restore", user, yes)
    change = _apply(user_id, accounts.restore, actor, reason=reason)
    _report(change, f"{user_id}: restored", as_json)
