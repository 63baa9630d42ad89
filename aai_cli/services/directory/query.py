"""The user directory: who has access to what, as the CLI and the admin API both read it.

Queries run on Core rows (no ORM identity map), so listing and exporting stay fast and
constant in memory. The filters are predicates on the users table alone
(`filters`). A page costs at most four statements: the slots of the platforms
and groups it names (only when it names some), the users, all their memberships in one
UNION ALL, and the count (only when the page does not tell it).

Scope: `AdminScope.everything()` (both fields None) sees every user. Any other scope is an
admin's: a user is visible only with at least one membership in a platform or group of the
scope. A visible user's record carries all of their memberships (the portal decides per
membership what an admin may do).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypedDict, Unpack

from sqlalchemy import (
    ColumnElement,
    String,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlmodel import Session, col

from aai_cli.errors import InvalidInput
from aai_cli.models import MembershipEvent
from aai_cli.models.identity import AUTH0_PROFILE_FIELDS
from aai_cli.services.directory.filters import (
    KINDS,
    AdminScope,
    Prepared,
    U,
    UserQuery,
    order_by,
    prepare,
    where,
)

USER_FIELDS = ("id", *AUTH0_PROFILE_FIELDS, "synced_at", "deleted_at")
MEMBERSHIP_FIELDS = (
    "id",
    "status",
    "updated_at",
    "reason",
    "request_reason",
    "requested_at",
    "decided_by",
    "name",
    "short_name",
    "decider_email",
)
AUTOMATIC = "(automatic)"  # who decided when no person did (the portal's wording)
DECIDER = U.alias("decider")


@dataclass
class UserRecord:
    """A user's columns and all their memberships.

    The profile fields repeat `Auth0Profile`'s (same names, types and order, USER_FIELDS
    builds the rows): a dataclass rather than a pydantic model built on it, because an
    export builds one per user and a pydantic record costs it 5 to 8 % of its speed."""

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

    def within(self, scope: AdminScope) -> bool:
        """At least one membership (any status) in a platform or group of `scope`."""
        return (
            scope.unrestricted
            or any(scope.sees_platform(m["platform_id"]) for m in self.platform_memberships)
            or any(scope.sees_group(m["group_id"]) for m in self.group_memberships)
        )


def updated_by(user_id: str, decided_by: str | None, decider_email: str | None) -> str:
    """Who last decided a membership, as admins read it: the person's email (their id
    when they have no row), or "(automatic)" for the system and the user's own request."""
    if decided_by is None or decided_by.startswith("system:") or decided_by == user_id:
        return AUTOMATIC
    return decider_email or decided_by


# --- listing -----------------------------------------------------------------------


def _user_columns() -> list[Any]:
    return [U.c[name] for name in USER_FIELDS]


def count_users(session: Session, query: UserQuery, *, scope: AdminScope | None = None) -> int:
    return _count_prepared(session, prepare(session, query, scope or AdminScope.everything()))


def _count_prepared(session: Session, prepared: Prepared) -> int:
    if prepared.exclude is None:
        return _count(session, prepared.conds)
    # All the matches, less the excluded user when they match: the narrow index answers
    # the first, the primary key the second.
    matches = select(func.count()).select_from(U).where(*prepared.conds).scalar_subquery()
    excluded = (
        select(func.count())
        .select_from(U)
        .where(U.c.id == prepared.exclude, *prepared.conds)
        .scalar_subquery()
    )
    return int(session.connection().execute(select(matches - excluded)).scalar_one())


def _count(session: Session, conds: list[ColumnElement[bool]]) -> int:
    stmt = select(func.count()).select_from(U).where(*conds)
    return int(session.connection().execute(stmt).scalar_one())


COUNTED_STATUSES = ("pending", "revoked")


def badge_counts(
    session: Session, query: UserQuery, *, scope: AdminScope | None = None
) -> dict[str, int]:
    """`all` users matching `query`, and among them those with a pending (a revoked)
    membership in the scope and those whose email is unverified: each the total that
    adding `approval_status=pending` (`revoked`, `email_verified=false`) to `query`
    gives. One statement after the slots."""
    scope = scope or AdminScope.everything()
    prepared = prepare(session, query, scope, force=True)
    built = prepared.built
    assert built is not None  # forced: the slots were read
    tests = {status: built.status_test(scope, status) for status in COUNTED_STATUSES}
    if None in tests.values():  # a target without a slot: count in SQL
        flags = {s: built.visible_with_any_status(scope, s) for s in COUNTED_STATUSES}
        return _badge_sums(session, prepared.all_conds, flags)
    counts = dict.fromkeys(("all", *COUNTED_STATUSES, "unverified"), 0)
    for platform_mask, group_mask, verified, users in _users_by_masks(session, prepared):
        counts["all"] += users
        for status, test in tests.items():
            counts[status] += users if test(platform_mask, group_mask) else 0  # type: ignore[misc]  # None tests returned above
        counts["unverified"] += 0 if verified else users
    return counts


def _users_by_masks(session: Session, prepared: Prepared) -> list[tuple[int, int, bool, int]]:
    """Matching users grouped by their membership masks and email_verified (a few dozen
    rows, read from the narrow facets index), the excluded user as a -1 row."""
    columns = (U.c.platform_mask, U.c.group_mask, U.c.email_verified)
    stmt: Any = select(*columns, func.count()).where(*prepared.conds).group_by(*columns)
    if prepared.exclude is not None:
        excluded = select(*columns, literal(-1)).where(U.c.id == prepared.exclude, *prepared.conds)
        stmt = union_all(stmt, excluded)
    return [(int(p), int(g), bool(v), int(n)) for p, g, v, n in session.connection().execute(stmt)]


def _badge_sums(
    session: Session, conds: list[ColumnElement[bool]], flags: dict[str, ColumnElement[bool]]
) -> dict[str, int]:
    flags = {**flags, "unverified": U.c.email_verified.is_(False)}
    sums = [func.coalesce(func.sum(case((flag, 1), else_=0)), 0) for flag in flags.values()]
    stmt = select(func.count(), *sums).select_from(U).where(*conds)
    total, *counts = session.connection().execute(stmt).one()
    return {"all": int(total), **{k: int(v) for k, v in zip(flags, counts, strict=True)}}


class PageOptions(TypedDict, total=False):
    """Which page: within `scope` (default everything), `limit` users (50) after
    `offset` (0), in `sort` order ("created_at", then id)."""

    scope: AdminScope | None
    limit: int
    offset: int
    sort: str


def list_users(
    session: Session, query: UserQuery, **options: Unpack[PageOptions]
) -> list[UserRecord]:
    """One page of users in a stable order (sort key, then id)."""
    return _list(session, query, options)[1]


def list_page(
    session: Session, query: UserQuery, **options: Unpack[PageOptions]
) -> tuple[list[UserRecord], int]:
    """A page and the total number of matching users.

    The count is another pass over the users, so it is skipped when the page itself
    tells the total: a page that is not full is the last one.
    """
    prepared, records = _list(session, query, options)
    offset = options.get("offset", 0)
    if len(records) < options.get("limit", 50) and (records or offset == 0):
        return records, offset + len(records)
    return records, _count_prepared(session, prepared)


def _list(
    session: Session, query: UserQuery, options: PageOptions
) -> tuple[Prepared, list[UserRecord]]:
    prepared = prepare(session, query, options.get("scope") or AdminScope.everything())
    records = _page(
        session,
        prepared.all_conds,
        limit=options.get("limit", 50),
        offset=options.get("offset", 0),
        sort=options.get("sort", "created_at"),
    )
    return prepared, records


def _page(
    session: Session,
    conds: list[ColumnElement[bool]],
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
    return _records(session, session.connection().execute(stmt).all())


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
        yield from _records(session, rows, after_id=last_id if dense else False)
        if len(rows) < batch_size:
            return
        last_id = rows[-1][0]


def get_user_record(session: Session, user_id: str) -> UserRecord | None:
    """One user (live or soft-deleted) with all memberships; None if missing."""
    stmt = select(*_user_columns()).where(U.c.id == user_id)
    records = _records(session, session.connection().execute(stmt).all())
    return records[0] if records else None


def _records(
    session: Session,
    rows: Sequence[Any],
    *,
    after_id: str | Literal[False] | None = False,
) -> list[UserRecord]:
    """Attach all memberships to user rows (columns in USER_FIELDS order) in one statement.

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
        *(_membership_select(kind, of_page(KINDS[kind][0].c.user_id)) for kind in KINDS)
    ).order_by("kind", "user_id", "target_id")
    for kind, user_id, target_id, *values in session.connection().execute(stmt).all():
        record = records.get(user_id)
        if record is None:
            continue
        membership = dict(zip(MEMBERSHIP_FIELDS, values, strict=True))
        membership["id"] = str(membership["id"])
        email = membership.pop("decider_email")
        membership["updated_by"] = updated_by(user_id, membership["decided_by"], email)
        if kind == "platform":
            del membership["short_name"]
            record.platform_memberships.append({"platform_id": target_id, **membership})
        else:
            record.group_memberships.append({"group_id": target_id, **membership})
    return list(records.values())


def _membership_select(kind: str, conds: list[Any]) -> Any:
    """One kind's memberships with the target's names and the decider's email."""
    table, target, catalog, _ = KINDS[kind]
    short_name = catalog.c.short_name if kind == "group" else cast(null(), String)
    columns = {
        **{name: table.c[name] for name in MEMBERSHIP_FIELDS[:7]},
        "name": catalog.c.name,
        "short_name": short_name,
        "decider_email": DECIDER.c.email,
    }
    return (
        select(
            literal(kind).label("kind"),
            table.c.user_id,
            target.label("target_id"),
            *(column.label(name) for name, column in columns.items()),
        )
        .join(catalog, catalog.c.id == target)
        .outerjoin(DECIDER, DECIDER.c.id == table.c.decided_by)
        .where(*conds)
    )


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
                col(MembershipEvent.platform_id).in_(sorted(scope.platforms or ())),
                col(MembershipEvent.group_id).in_(sorted(scope.groups or ())),
            )
        )
    stmt = stmt.order_by(col(MembershipEvent.created_at), col(MembershipEvent.id))
    return list(session.exec(stmt).all())
