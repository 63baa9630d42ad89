"""The caller's own view: profile, memberships and requests (the `/me` routes).

Everything is answered from the database; Auth0 is asked only once, the first time a
caller is seen before the sync has brought their row (`fetch_identity`, then `adopt`).
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import literal, union_all
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from aai_cli.errors import Conflict, NotFound
from aai_cli.models import Group, GroupMembership, Platform, PlatformMembership, User, utcnow
from aai_cli.services.access import Forbidden
from aai_cli.services.memberships import Target, TransitionResult, transition

USER_FIELDS = ("email", "email_verified", "username", "name", "given_name", "family_name")
_OPTIONAL_FIELDS = ("picture", "blocked", "created_at", "updated_at", "last_login")


class UserSource(Protocol):
    """Where a first-seen caller's identity comes from (the Auth0 gateway)."""

    def get_user(self, user_id: str) -> Any: ...


def get_own_row(session: Session, user_id: str) -> User | None:
    """The caller's row, soft-deleted or not: a soft-deleted caller may still read their
    profile, but not act (`require_active`). Only the sync brings a deleted row back."""
    return session.get(User, user_id)


def fetch_identity(user_id: str, *, source: UserSource | None) -> Any:
    """A caller seen for the first time, from Auth0. Reads no database: call it with no
    transaction open, then `adopt` the answer in a short transaction."""
    if source is None:
        raise NotFound("your account is not in the database yet; try again after the sync")
    remote = source.get_user(user_id)
    if remote is None:
        raise NotFound("your account does not exist in Auth0")
    return remote


def adopt(session: Session, user_id: str, remote: Any) -> User:
    """Create the row of a caller seen for the first time. A row written meanwhile (by the
    sync or a concurrent first sight) wins and is returned as it is."""
    existing = session.get(User, user_id)
    if existing is not None:
        return existing
    user = User(id=user_id, synced_at=utcnow())
    for name in USER_FIELDS + _OPTIONAL_FIELDS:
        value = getattr(remote, name, None)
        if value is not None:
            setattr(user, name, value)
    try:
        with session.begin_nested():
            session.add(user)
            session.flush()
    except IntegrityError:
        # Another request (or the sync) created the row at the same moment.
        found = session.get(User, user_id, populate_existing=True)
        if found is None:  # e.g. a stale row still holds this username
            raise Conflict(
                "your account clashes with another record in the database; "
                "the next sync resolves it"
            ) from None
        return found
    return user


def require_active(user: User) -> User:
    """The caller may act (request access, change anything of theirs): not blocked in
    Auth0, not deleted."""
    if user.deleted_at is not None:
        raise Forbidden(
            "your account has been deleted: it cannot request access or change anything"
        )
    if user.blocked:
        raise Forbidden("your account is blocked: it cannot request access or change anything")
    return user


def profile(session: Session, user: User) -> dict[str, Any]:
    platforms, groups = list_mine(session, user.id)
    return {
        "id": user.id,
        "email": user.email,
        "email_verified": user.email_verified,
        "username": user.username,
        "name": user.name,
        "picture": user.picture,
        "platforms": platforms,
        "groups": groups,
    }


PM = PlatformMembership.__table__
GM = GroupMembership.__table__
MEMBERSHIP_COLUMNS = (
    "status",
    "request_reason",
    "reason",
    "requested_at",
    "decided_at",
    "updated_at",
)


def _memberships_select(kind: str, user_id: str, status: str | None) -> Any:
    """The user's memberships of one kind, in the columns `_items` reads."""
    if kind == "platform":
        table, catalog, target, short_name = PM, Platform.__table__, PM.c.platform_id, None
    else:
        table, catalog, target = GM, Group.__table__, GM.c.group_id
        short_name = catalog.c.short_name
    query = (
        sa_select(
            literal(kind).label("kind"),
            target.label("target_id"),
            catalog.c.name,
            (literal(None) if short_name is None else short_name).label("short_name"),
            *(table.c[name] for name in MEMBERSHIP_COLUMNS),
        )
        .join(catalog, catalog.c.id == target)
        .where(table.c.user_id == user_id)
    )
    return query if status is None else query.where(table.c.status == status)


def _items(session: Session, *kinds: str, user_id: str, status: str | None) -> dict[str, list]:
    """The memberships of `kinds` in one statement, as the /me routes show them."""
    selects = [_memberships_select(kind, user_id, status) for kind in kinds]
    stmt = (selects[0] if len(selects) == 1 else union_all(*selects)).order_by("kind", "target_id")
    mine: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
    for kind, target_id, name, short_name, *values in session.connection().execute(stmt):
        item = {f"{kind}_id": target_id, f"{kind}_name": name}
        if kind == "group":
            item["group_short_name"] = short_name
        item.update(zip(MEMBERSHIP_COLUMNS, values, strict=True))
        mine[kind].append(item)
    return mine


def list_my_platforms(
    session: Session, user_id: str, *, status: str | None = None
) -> list[dict[str, Any]]:
    return _items(session, "platform", user_id=user_id, status=status)["platform"]


def list_my_groups(
    session: Session, user_id: str, *, status: str | None = None
) -> list[dict[str, Any]]:
    return _items(session, "group", user_id=user_id, status=status)["group"]


def list_mine(
    session: Session, user_id: str, *, status: str | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Platform and group memberships in one statement (the profile, /me/all/pending)."""
    mine = _items(session, "platform", "group", user_id=user_id, status=status)
    return mine["platform"], mine["group"]


def request_access(
    session: Session, user: User, target: Target, *, reason: str | None = None
) -> TransitionResult:
    """The caller asks for a platform or group: pending (or approved when automatic).

    Re-requesting after a rejection or revocation is a transition; a live request or an
    approved membership is a `Conflict`.
    """
    return transition(
        session, user_id=user.id, target=target, action="request", actor=user.id, reason=reason
    )
