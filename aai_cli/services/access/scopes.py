"""Who administers what: from the caller's token roles and the catalog's admin role tables.

A super-admin holds a role named in `ADMIN_ROLES` and sees everything. A platform or group
admin holds one of that platform's or group's admin roles and sees only those. Admins need
no database row of their own.

An admin manages a user with at least one membership (any status) in a platform or group
they administer. Nobody decides their own access through the API, super-admins included:
a decision on one's own membership is refused, whoever asks.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

from sqlalchemy import literal, union_all
from sqlmodel import Session, col, select

from aai_cli.errors import AaiError, NotFound
from aai_cli.models import TARGET_TABLES, Group, Kind, Platform, Target, User
from aai_cli.services import directory
from aai_cli.services.access import memberships
from aai_cli.services.directory.query import AdminScope, UserRecord


@dataclass(frozen=True)
class Administered:
    """What a caller administers; `super_admin` means every platform and group."""

    super_admin: bool
    platforms: frozenset[str]
    groups: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return self.super_admin or bool(self.platforms) or bool(self.groups)

    @property
    def scope(self) -> AdminScope:
        """The directory scope: everything for a super-admin, nothing for a non-admin."""
        if self.super_admin:
            return AdminScope(platforms=None, groups=None)
        return AdminScope(platforms=self.platforms, groups=self.groups)

    def ids(self, kind: Kind) -> frozenset[str]:
        """The platforms or groups administered by admin role (none for a super-admin)."""
        return {"platform": self.platforms, "group": self.groups}[kind]

    def covers(self, target: Target) -> bool:
        return self.super_admin or target.id in self.ids(target.kind)

    def covers_platform(self, platform_id: str) -> bool:
        return self.covers(Target("platform", platform_id))

    def covers_group(self, group_id: str) -> bool:
        return self.covers(Target("group", group_id))


def administered(
    session: Session, roles: Iterable[str], *, super_roles: Iterable[str]
) -> Administered:
    """Resolve the caller's roles to the platforms and groups they administer."""
    roles = frozenset(roles)
    if roles & frozenset(super_roles):
        return Administered(True, frozenset(), frozenset())
    if not roles:
        return Administered(False, frozenset(), frozenset())
    # One statement: the admin role tables of platforms and groups together.
    query = union_all(
        *(
            select(literal(kind), tables.admin_role_key()).where(
                col(tables.admin_role.role_name).in_(roles)
            )
            for kind, tables in TARGET_TABLES.items()
        )
    )
    rows = session.exec(query).all()  # type: ignore[call-overload]  # sqlmodel types exec for SELECT, not UNION
    ids: dict[str, set[str]] = {kind: set() for kind in TARGET_TABLES}
    for kind, target_id in rows:
        ids[kind].add(target_id)
    return Administered(False, frozenset(ids["platform"]), frozenset(ids["group"]))


def administered_targets(session: Session, who: Administered, kind: Kind) -> list[Platform | Group]:
    """The platforms or groups the caller administers (every one for a super-admin)."""
    catalog = TARGET_TABLES[kind].catalog
    query = select(catalog).order_by(catalog.id)
    if not who.super_admin:
        query = query.where(col(catalog.id).in_(who.ids(kind)))
    found = session.exec(query).all()
    return cast(list[Platform | Group], list(found))


class Forbidden(AaiError):
    """The caller is authenticated but may not do this (HTTP 403)."""

    exit_code = 2


def require_admin(who: Administered) -> Administered:
    if not who.is_admin:
        raise Forbidden("You must be an admin to access this endpoint.")
    return who


def require_managed_user(session: Session, who: Administered, user_id: str) -> UserRecord:
    """A live user the caller manages, with all memberships: 404 for a missing or
    soft-deleted user (before the permission check), 403 for one they do not manage."""
    record = directory.get_user_record(session, user_id)
    if record is None or record.deleted_at is not None:
        raise NotFound(f"User '{user_id}' not found")
    if not record.within(who.scope):
        raise Forbidden("You do not have permission to manage this user.")
    return record


# The API's messages for an unknown target, as the portal has always received them.
TARGET_NOT_FOUND: dict[Kind, str] = {
    "platform": "Platform '{id}' not found",
    "group": "Group {id} not found in database",
}


def require_decidable(
    session: Session, who: Administered, *, actor: str, user_id: str, target: Target
) -> None:
    """The checks before an admin decides on `user_id`'s membership of `target`, in order:
    the target exists (404), the caller administers it (403), it is not the caller's own
    membership (403), the user is live (404) and has that membership (404)."""
    if session.get(target.tables.catalog, target.id) is None:
        raise NotFound(TARGET_NOT_FOUND[target.kind].format(id=target.id))
    if not who.covers(target):
        raise Forbidden(f"You do not have permission to manage this {target.kind}.")
    if actor == user_id:
        raise Forbidden("You cannot decide your own access; another admin must.")
    user = session.get(User, user_id)
    if user is None or user.deleted_at is not None:
        raise NotFound(f"User '{user_id}' not found")
    if memberships.get_membership(session, user_id=user_id, target=target) is None:
        raise NotFound(f"{target.tables.label} membership for user {user_id} on {target} not found")
