"""The user directory: who has access to what, as the CLI and the admin API both read it.

Queries run on Core rows (no ORM identity map), so listing and exporting stay fast and
constant in memory. The filters are predicates on the users table alone
(`directory_filters`). A page costs at most four statements: the slots of the platforms
and groups it names (only when it names some), the users, all their memberships in one
UNION ALL, and the count (only when the page does not tell it).

Scope: `AdminScope.everything()` (both fields None) sees every user. Any other scope is an
admin's: a user is visible only with at least one membership in a platform or group of the
scope, and memberships outside it are hidden.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, func, literal, or_, select, union_all
from sqlmodel import Session

from aai_cli.errors import InvalidInput
from aai_cli.models import MembershipEvent
from aai_cli.models.identity import AUTH0_PROFILE_FIELDS
from aai_cli.services.directory_filters import (
    GM,
    PM,
    SORT_KEYS,
    AdminScope,
    U,
    UserQuery,
    group_scope,
    order_by,
    platform_scope,
    scope_condition,
    where,
)
from aai_cli.services.directory_lookup import (
    close_user_matches,
    escape_like,
    resolve_group,
    resolve_platform,
    resolve_target,
    resolve_user,
)

USER_FIELDS = ("id", *AUTH0_PROFILE_FIELDS, "synced_at", "deleted_at")
MEMBERSHIP_FIELDS = ("status", "updated_at", "reason", "request_reason", "requested_at")


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


# --- listing -----------------------------------------------------------------------


def _user_columns() -> list[Any]:
    return [U.c[name] for name in USER_FIELDS]


def count_users(session: Session, query: UserQuery, *, scope: AdminScope | None = None) -> int:
    return _count(session, where(session, query, scope or AdminScope.everything()))


def _count(session: Session, conds: list[ColumnElement[bool]]) -> int:
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
    """One page of users in a stable order (sort key, then id)."""
    scope = scope or AdminScope.everything()
    conds = where(session, query, scope)
    return _page(session, conds, scope, limit=limit, offset=offset, sort=sort)


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

    The count is another pass over the users, so it is skipped when the page itself
    tells the total: a page that is not full is the last one.
    """
    scope = scope or AdminScope.everything()
    conds = where(session, query, scope)
    records = _page(session, conds, scope, limit=limit, offset=offset, sort=sort)
    if len(records) < limit and (records or offset == 0):
        return records, offset + len(records)
    return records, _count(session, conds)


def _page(
    session: Session,
    conds: list[ColumnElement[bool]],
    scope: AdminScope,
    *,
    limit: int,
    offset: int,
    sort: str,
) -> list[UserRecord]:
    """The page's ids are chosen first, reading only what the filters need (on SQLite,
    the directory index alone), then their rows and memberships are fetched."""
    if limit < 1 or offset < 0:
        raise InvalidInput("limit must be >= 1 and offset >= 0")
    order = order_by(sort)
    page = select(U.c.id).where(*conds).order_by(*order).limit(limit).offset(offset)
    ids = page.subquery("page")
    stmt = select(*_user_columns()).join(ids, ids.c.id == U.c.id).order_by(*order)
    return _records(session, session.connection().execute(stmt).all(), scope)


def iter_users(
    session: Session,
    query: UserQuery,
    *,
    scope: AdminScope | None = None,
    batch_size: int = 1000,
) -> Iterator[UserRecord]:
    """Every matching user, ordered by id, fetched in keyset pages of `batch_size`."""
    scope = scope or AdminScope.everything()
    conds = where(session, query, scope)
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
    conds = [U.c.id == user_id, *scope_condition(scope)]
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
    "GM",
    "PM",
    "SORT_KEYS",
    "AdminScope",
    "PendingRequest",
    "U",
    "UserQuery",
    "UserRecord",
    "close_user_matches",
    "count_users",
    "escape_like",
    "get_user_record",
    "group_scope",
    "iter_users",
    "list_history",
    "list_page",
    "list_pending",
    "list_users",
    "platform_scope",
    "resolve_group",
    "resolve_platform",
    "resolve_target",
    "resolve_user",
    "status_counts",
]
