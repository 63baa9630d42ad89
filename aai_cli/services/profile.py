"""The caller's own view: profile, memberships and requests (the `/me` routes).

Everything is answered from the database; Auth0 is asked only once, the first time a
caller is seen before the sync has brought their row.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import literal, union_all
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from aai_cli.errors import Conflict, NotFound
from aai_cli.models import Group, GroupMembership, Platform, PlatformMembership, User, utcnow
from aai_cli.services.memberships import Target, TransitionResult, transition

USER_FIELDS = ("email", "email_verified", "username", "name", "given_name", "family_name")
_OPTIONAL_FIELDS = ("picture", "blocked", "created_at", "updated_at", "last_login")


class UserSource(Protocol):
    """Where a first-seen caller's identity comes from (the Auth0 gateway)."""

    def get_user(self, user_id: str) -> Any: ...


def get_live_user(session: Session, user_id: str) -> User | None:
    user = session.get(User, user_id)
    return user if user is not None and user.deleted_at is None else None


def require_me(session: Session, user_id: str, *, source: UserSource | None) -> User:
    """The caller's row; created from Auth0 on first sight (before the sync brings it)."""
    user = get_live_user(session, user_id)
    if user is not None:
        return user
    if source is None:
        raise NotFound("your account is not in the database yet; try again after the sync")
    remote = source.get_user(user_id)
    if remote is None:
        raise NotFound("your account does not exist in Auth0")
    return _adopt(session, user_id, remote)


def _adopt(session: Session, user_id: str, remote: Any) -> User:
    existing = session.get(User, user_id)  # a soft-deleted row comes back to life
    user = existing or User(id=user_id)
    for name in USER_FIELDS + _OPTIONAL_FIELDS:
        value = getattr(remote, name, None)
        if value is not None:
            setattr(user, name, value)
    user.deleted_at = None
    user.synced_at = utcnow()
    try:
        with session.begin_nested():
            session.add(user)
            session.flush()
    except IntegrityError:
        # Another request (or the sync) created the row at the same moment.
        session.expire_all()
        found = get_live_user(session, user_id)
        if found is None:  # e.g. a stale row still holds this username
            raise Conflict(
                "your account clashes with another record in the database; "
                "the next sync resolves it"
            ) from None
        return found
    return user


def profile(session: Session, user: User) -> dict[str, Any]:
    platforms, groups = _all_memberships(session, user.id)
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


def _platforms_select(user_id: str, status: str | None) -> Any:
    platforms = Platform.__table__
    query = (
        sa_select(
            PM.c.platform_id,
            platforms.c.name.label("platform_name"),
            *(PM.c[name] for name in MEMBERSHIP_COLUMNS),
        )
        .join(platforms, platforms.c.id == PM.c.platform_id)
        .where(PM.c.user_id == user_id)
    )
    return query if status is None else query.where(PM.c.status == status)


def _groups_select(user_id: str, status: str | None) -> Any:
    groups = Group.__table__
    query = (
        sa_select(
            GM.c.group_id,
            groups.c.name.label("group_name"),
            groups.c.short_name.label("group_short_name"),
            *(GM.c[name] for name in MEMBERSHIP_COLUMNS),
        )
        .join(groups, groups.c.id == GM.c.group_id)
        .where(GM.c.user_id == user_id)
    )
    return query if status is None else query.where(GM.c.status == status)


def list_my_platforms(
    session: Session, user_id: str, *, status: str | None = None
) -> list[dict[str, Any]]:
    query = _platforms_select(user_id, status).order_by(PM.c.platform_id)
    return [dict(row) for row in session.connection().execute(query).mappings()]


def list_my_groups(
    session: Session, user_id: str, *, status: str | None = None
) -> list[dict[str, Any]]:
    query = _groups_select(user_id, status).order_by(GM.c.group_id)
    return [dict(row) for row in session.connection().execute(query).mappings()]


def _all_memberships(session: Session, user_id: str) -> tuple[list[dict], list[dict]]:
    """Both lists in one statement: the profile is the portal's hottest read."""
    platforms, groups = Platform.__table__, Group.__table__
    columns = list(MEMBERSHIP_COLUMNS)
    stmt = union_all(
        sa_select(
            literal("platform").label("kind"), PM.c.platform_id.label("target_id"),
            platforms.c.name, literal(None).label("short_name"),
            *(PM.c[name] for name in columns),
        ).join(platforms, platforms.c.id == PM.c.platform_id).where(PM.c.user_id == user_id),
        sa_select(
            literal("group"), GM.c.group_id, groups.c.name, groups.c.short_name,
            *(GM.c[name] for name in columns),
        ).join(groups, groups.c.id == GM.c.group_id).where(GM.c.user_id == user_id),
    ).order_by("kind", "target_id")  # fmt: skip
    mine: dict[str, list[dict]] = {"platform": [], "group": []}
    for kind, target_id, name, short_name, *values in session.connection().execute(stmt):
        membership = dict(zip(columns, values, strict=True))
        if kind == "platform":
            item = {"platform_id": target_id, "platform_name": name, **membership}
        else:
            item = {"group_id": target_id, "group_name": name, "group_short_name": short_name}
            item.update(membership)
        mine[kind].append(item)
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
