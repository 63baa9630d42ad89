"""The user directory: who has access to what, as the CLI and the admin API both read it.

Queries run on Core rows (no ORM identity map), so listing and exporting stay fast and
constant in memory. Every filter is a predicate on the users table alone: memberships are
matched through the users' membership masks, search through `users.search_text` (both
kept by the database: models/derived.py).
A page of users costs two statements: the users, then all their memberships in one
UNION ALL; `list_page` adds the count as a third, only when the page does not tell it.

Scope: `AdminScope.everything()` (both fields None) sees every user. Any other scope is an
admin's: a user is visible only with at least one membership in a platform or group of the
scope, and memberships outside it are hidden. In a restricted scope a None field means
"none of that kind".
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    case,
    cast,
    false,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlmodel import Session

from aai_cli.errors import InvalidInput
from aai_cli.models import (
    MEMBERSHIP_STATUSES,
    Group,
    GroupMembership,
    MembershipEvent,
    Platform,
    PlatformMembership,
    User,
    derived,
)
from aai_cli.models.identity import AUTH0_PROFILE_FIELDS
from aai_cli.services.directory_lookup import (
    close_user_matches,
    escape_like,
    resolve_group,
    resolve_platform,
    resolve_target,
    resolve_user,
)

U = User.__table__
PM = PlatformMembership.__table__
GM = GroupMembership.__table__
_KINDS = {
    "platform": (PM, PM.c.platform_id, Platform.__table__, U.c.platform_mask),
    "group": (GM, GM.c.group_id, Group.__table__, U.c.group_mask),
}

USER_FIELDS = ("id", *AUTH0_PROFILE_FIELDS, "synced_at", "deleted_at")
MEMBERSHIP_FIELDS = ("status", "updated_at", "reason", "request_reason", "requested_at")
SORT_KEYS = ("created_at", "updated_at", "last_login", "email", "username", "id")


@dataclass(frozen=True)
class AdminScope:
    """What an admin may see; both None = everything (a super-admin)."""

    platforms: frozenset[str] | None = None
    groups: frozenset[str] | None = None

    @classmethod
    def everything(cls) -> AdminScope:
        return cls()

    @property
    def unrestricted(self) -> bool:
        return self.platforms is None and self.groups is None

    def sees_platform(self, platform_id: str) -> bool:
        return self.unrestricted or platform_id in (self.platforms or ())

    def sees_group(self, group_id: str) -> bool:
        return self.unrestricted or group_id in (self.groups or ())


@dataclass(frozen=True)
class UserQuery:
    platform: str | None = None
    platform_status: str | None = None  # status of THAT membership
    group: str | None = None
    group_status: str | None = None
    status: str | None = None  # any (in-scope) membership with this status
    search: str | None = None  # email/username substring
    email_verified: bool | None = None
    blocked: bool | None = None
    deleted: bool = False  # False: live users only; True: only soft-deleted ones


@dataclass
class UserRecord:
    """A user's columns and their (in-scope) memberships."""

    id: str
    email: str | None = None
    email_verified: bool = False
    username: str | None = None
    name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    picture: str | None = None
    blocked: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_login: datetime | None = None
    synced_at: datetime | None = None
    deleted_at: datetime | None = None
    platform_memberships: list[dict[str, Any]] = field(default_factory=list)
    group_memberships: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in USER_FIELDS}
        data["platform_memberships"] = [dict(m) for m in self.platform_memberships]
        data["group_memberships"] = [dict(m) for m in self.group_memberships]
        return data


# --- filters -----------------------------------------------------------------------


def _check_status(value: str | None, option: str) -> None:
    if value is not None and value not in MEMBERSHIP_STATUSES:
        known = ", ".join(MEMBERSHIP_STATUSES)
        raise InvalidInput(f"{option}: unknown status {value!r} (one of {known})")


def platform_scope(scope: AdminScope) -> list[ColumnElement[bool]]:
    """Conditions on PM rows keeping those inside the scope."""
    return [] if scope.unrestricted else [PM.c.platform_id.in_(sorted(scope.platforms or ()))]


def group_scope(scope: AdminScope) -> list[ColumnElement[bool]]:
    return [] if scope.unrestricted else [GM.c.group_id.in_(sorted(scope.groups or ()))]


def _has_membership(kind: str, target: str, status: str | None = None) -> ColumnElement[bool]:
    """The user has a membership in `target` (with `status`, or any).

    A bit test on the user's own mask (models/derived.py) when the target holds a slot,
    so any combination of filters stays one pass over users; a target without one (or
    unknown) falls back to probing its membership table.
    """
    memberships, target_column, catalog, mask = _KINDS[kind]
    bits = (
        select(cast(literal(derived.status_nibble(status)), BigInteger).op("<<")(
            catalog.c.facet_slot * 4))
        .where(catalog.c.id == target)
        .scalar_subquery()
    )  # fmt: skip
    probe = select(memberships.c.id).where(
        memberships.c.user_id == U.c.id,
        target_column == target,
        *([memberships.c.status == status] if status else []),
    )
    return func.coalesce(mask.op("&")(bits) != 0, probe.exists())


def _has_status(kind: str, status: str) -> ColumnElement[bool]:
    """The user has a membership of `kind` with `status`, in any target."""
    memberships, target_column, catalog, mask = _KINDS[kind]
    slotless = select(catalog.c.id).where(catalog.c.facet_slot.is_(None)).exists()
    probe = (
        select(memberships.c.id)
        .join(catalog, catalog.c.id == target_column)
        .where(
            memberships.c.user_id == U.c.id,
            memberships.c.status == status,
            catalog.c.facet_slot.is_(None),
        )
    )
    # The probe runs only while some target has no slot (one uncorrelated check).
    return or_(
        mask.op("&")(derived.every_slot(status)) != 0,
        case((slotless, probe.exists()), else_=false()),
    )


def _targets(scope: AdminScope, kind: str) -> list[str]:
    return sorted((scope.platforms if kind == "platform" else scope.groups) or ())


def _visible_with_status(scope: AdminScope, kind: str, status: str) -> ColumnElement[bool]:
    """A membership of `kind` with `status`, in a target the scope sees."""
    if scope.unrestricted:
        return _has_status(kind, status)
    return or_(false(), *(_has_membership(kind, t, status) for t in _targets(scope, kind)))


def _in_scope(scope: AdminScope) -> ColumnElement[bool] | None:
    """Any membership in a platform or group of a restricted scope (None: unrestricted)."""
    if scope.unrestricted:
        return None
    return or_(
        false(),
        *(_has_membership(kind, t) for kind in _KINDS for t in _targets(scope, kind)),
    )


def _conditions(query: UserQuery, scope: AdminScope) -> list[ColumnElement[bool]]:
    for value, option in (
        (query.platform_status, "platform_status"),
        (query.group_status, "group_status"),
        (query.status, "status"),
    ):
        _check_status(value, option)
    conds: list[ColumnElement[bool]] = [
        U.c.deleted_at.is_not(None) if query.deleted else U.c.deleted_at.is_(None)
    ]
    if query.email_verified is not None:
        conds.append(U.c.email_verified == query.email_verified)
    if query.blocked is not None:
        conds.append(U.c.blocked == query.blocked)
    if query.search:
        # Lowered by the database on both sides, as `search_text` is (models/derived.py).
        pattern = f"%{escape_like(query.search)}%"
        conds.append(U.c.search_text.like(func.lower(pattern), escape="\\"))
    conds.extend(_membership_conditions(query, scope))
    scoped = query.platform is not None or query.group is not None
    restriction = _in_scope(scope)
    if not scoped and restriction is not None:
        conds.append(restriction)
    return conds


def _membership_conditions(query: UserQuery, scope: AdminScope) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    for kind, target, status, visible in (
        ("platform", query.platform, query.platform_status, scope.sees_platform),
        ("group", query.group, query.group_status, scope.sees_group),
    ):
        if target is not None:
            conds.append(_has_membership(kind, target, status) if visible(target) else false())
        elif status:
            conds.append(_visible_with_status(scope, kind, status))
    if query.status:
        conds.append(
            or_(_visible_with_status(scope, "platform", query.status),
                _visible_with_status(scope, "group", query.status))
        )  # fmt: skip
    return conds


def _order_by(sort: str) -> list[Any]:
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key not in SORT_KEYS:
        raise InvalidInput(f"unknown sort key {key!r} (one of {', '.join(SORT_KEYS)})")
    column = U.c[key]
    if key == "id":
        return [column.desc() if descending else column]
    if descending:
        return [column.desc(), U.c.id.desc()]
    return [column, U.c.id]


# --- listing -----------------------------------------------------------------------


def _user_columns() -> list[Any]:
    return [U.c[name] for name in USER_FIELDS]


def count_users(session: Session, query: UserQuery, *, scope: AdminScope | None = None) -> int:
    conds = _conditions(query, scope or AdminScope.everything())
    stmt = select(func.count()).select_from(U).where(*conds)
    return int(session.connection().execute(stmt).scalar_one())


def list_users(
    session: Session,
    query: UserQuery,
    *,
    scope: AdminScope | None = None,
    limit: int = 50,
    offset: int = 0,
    sort: str = "created_at",
) -> list[UserRecord]:
    """One page of users in a stable order (sort key, then id).

    The page's ids are chosen first, reading only what the filters need (on SQLite,
    the directory index alone), then their full rows are fetched.
    """
    if limit < 1 or offset < 0:
        raise InvalidInput("limit must be >= 1 and offset >= 0")
    scope = scope or AdminScope.everything()
    order = _order_by(sort)
    page = (
        select(U.c.id)
        .where(*_conditions(query, scope))
        .order_by(*order)
        .limit(limit)
        .offset(offset)
        .subquery("page")
    )
    stmt = select(*_user_columns()).join(page, page.c.id == U.c.id).order_by(*order)
    rows = session.connection().execute(stmt).all()
    return _records(session, rows, scope)


def list_page(
    session: Session,
    query: UserQuery,
    *,
    scope: AdminScope | None = None,
    limit: int = 50,
    offset: int = 0,
    sort: str = "created_at",
) -> tuple[list[UserRecord], int]:
    """A page and the total number of matching users.

    The count is a second pass over the users, so it is skipped when the page itself
    tells the total: a page that is not full is the last one.
    """
    records = list_users(session, query, scope=scope, limit=limit, offset=offset, sort=sort)
    if len(records) < limit and (records or offset == 0):
        return records, offset + len(records)
    return records, count_users(session, query, scope=scope)


def iter_users(
    session: Session,
    query: UserQuery,
    *,
    scope: AdminScope | None = None,
    batch_size: int = 1000,
) -> Iterator[UserRecord]:
    """Every matching user, ordered by id, fetched in keyset pages of `batch_size`."""
    scope = scope or AdminScope.everything()
    conds = _conditions(query, scope)
    last_id: str | None = None
    while True:
        page_conds = [*conds, U.c.id > last_id] if last_id is not None else conds
        stmt = select(*_user_columns()).where(*page_conds).order_by(U.c.id).limit(batch_size)
        rows = session.connection().execute(stmt).all()
        if not rows:
            return
        # Unfiltered, the page is dense in id order: fetch its memberships by id range
        # (an index range scan, cheaper than a 1000-item IN list). Filtered pages may be
        # sparse, so they list their ids.
        dense = query == UserQuery() and scope.unrestricted
        yield from _records(session, rows, scope, after_id=last_id if dense else False)
        if len(rows) < batch_size:
            return
        last_id = rows[-1][0]


def get_user_record(
    session: Session, user_id: str, *, scope: AdminScope | None = None
) -> UserRecord | None:
    """One user (live or soft-deleted) with memberships; None if missing or out of scope."""
    scope = scope or AdminScope.everything()
    conds: list[ColumnElement[bool]] = [U.c.id == user_id]
    if (restriction := _in_scope(scope)) is not None:
        conds.append(restriction)
    rows = session.connection().execute(select(*_user_columns()).where(*conds)).all()
    records = _records(session, rows, scope)
    return records[0] if records else None


def _records(
    session: Session,
    rows: Sequence[Any],
    scope: AdminScope,
    *,
    after_id: str | Literal[False] | None = False,
) -> list[UserRecord]:
    """Attach memberships to user rows (columns in USER_FIELDS order) in one statement.

    Keyset pages ordered by id pass `after_id`: memberships are then selected by the id
    range (after_id, last id], an index range scan, instead of a long IN list; rows of
    users outside the page are skipped.
    """
    records = {row[0]: UserRecord(*row) for row in rows}
    if not records:
        return []
    ids = list(records)

    def of_page(column: Any) -> list[ColumnElement[bool]]:
        if after_id is False:
            return [column.in_(ids)]
        return [column <= ids[-1], *([column > after_id] if after_id is not None else [])]

    stmt = union_all(
        _membership_select(PM, PM.c.platform_id, "platform", of_page(PM.c.user_id))
        .where(*platform_scope(scope)),
        _membership_select(GM, GM.c.group_id, "group", of_page(GM.c.user_id))
        .where(*group_scope(scope)),
    ).order_by("kind", "user_id", "target_id")  # fmt: skip
    for kind, user_id, target_id, *values in session.connection().execute(stmt).all():
        record = records.get(user_id)
        if record is None:
            continue
        details = dict(zip(MEMBERSHIP_FIELDS, values, strict=True))
        if kind == "platform":
            record.platform_memberships.append({"platform_id": target_id, **details})
        else:
            record.group_memberships.append({"group_id": target_id, **details})
    return list(records.values())


def _membership_select(table: Any, target: Any, kind: str, conds: list[Any]) -> Any:
    columns = (table.c[name] for name in MEMBERSHIP_FIELDS)
    return select(
        literal(kind).label("kind"), table.c.user_id, target.label("target_id"), *columns
    ).where(*conds)


def list_history(
    session: Session, user_id: str, *, scope: AdminScope | None = None
) -> list[MembershipEvent]:
    """The user's membership events (oldest first), limited to the scope's targets."""
    from sqlmodel import select as orm_select

    scope = scope or AdminScope.everything()
    stmt = orm_select(MembershipEvent).where(MembershipEvent.user_id == user_id)
    if not scope.unrestricted:
        stmt = stmt.where(
            or_(
                MembershipEvent.platform_id.in_(sorted(scope.platforms or ())),
                MembershipEvent.group_id.in_(sorted(scope.groups or ())),
            )
        )
    stmt = stmt.order_by(MembershipEvent.created_at, MembershipEvent.id)
    return list(session.exec(stmt).all())


# The queue and the counts live in their own module; re-exported here as the one interface.
from aai_cli.services.directory_queue import (  # noqa: E402
    PendingRequest,
    list_pending,
    status_counts,
)

__all__ = [
    "AdminScope",
    "PendingRequest",
    "UserQuery",
    "UserRecord",
    "close_user_matches",
    "count_users",
    "escape_like",
    "get_user_record",
    "iter_users",
    "list_history",
    "list_page",
    "list_pending",
    "list_users",
    "resolve_group",
    "resolve_platform",
    "resolve_target",
    "resolve_user",
    "status_counts",
]
