"""What the directory is asked (`UserQuery`), who asks (`AdminScope`), and the WHERE
clause that answers: predicates on the users table alone.

Memberships are matched through the users' membership masks (models/derived.py): a bit
test per row, so any combination of filters is one pass over users. The masks need the
slots of the platforms and groups a query names; one small statement reads them (and
the targets that have no slot, which are matched by probing their membership table
instead). A query that names no platform, group or status reads none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, false, func, literal, or_, select, true, union_all
from sqlmodel import Session

from aai_cli.errors import InvalidInput
from aai_cli.models import (
    MEMBERSHIP_STATUSES,
    Group,
    GroupMembership,
    Platform,
    PlatformMembership,
    User,
    derived,
)
from aai_cli.services.directory_lookup import escape_like

U = User.__table__
PM = PlatformMembership.__table__
GM = GroupMembership.__table__
# kind -> (membership table, its target column, catalog table, the users mask column)
KINDS = {
    "platform": (PM, PM.c.platform_id, Platform.__table__, U.c.platform_mask),
    "group": (GM, GM.c.group_id, Group.__table__, U.c.group_mask),
}
SORT_KEYS = ("created_at", "updated_at", "last_login", "email", "username", "id")


@dataclass(frozen=True)
class AdminScope:
    """What an admin may see; both None = everything (a super-admin).

    In a restricted scope a None field means "none of that kind"."""

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

    def targets(self, kind: str) -> list[str]:
        return sorted((self.platforms if kind == "platform" else self.groups) or ())


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


def platform_scope(scope: AdminScope) -> list[ColumnElement[bool]]:
    """Conditions on PM rows keeping those inside the scope."""
    return [] if scope.unrestricted else [PM.c.platform_id.in_(scope.targets("platform"))]


def group_scope(scope: AdminScope) -> list[ColumnElement[bool]]:
    return [] if scope.unrestricted else [GM.c.group_id.in_(scope.targets("group"))]


@dataclass
class _Slots:
    """The catalog as a query needs it: slots of the named targets, and which targets
    have none. A named target absent from both does not exist."""

    of: dict[tuple[str, str], int] = field(default_factory=dict)
    slotless: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in KINDS})

    @classmethod
    def read(cls, session: Session, names: dict[str, set[str]]) -> _Slots:
        selects = [
            select(literal(kind).label("kind"), catalog.c.id, catalog.c.facet_slot).where(
                or_(catalog.c.id.in_(sorted(names[kind])), catalog.c.facet_slot.is_(None))
            )
            for kind, (_, _, catalog, _) in KINDS.items()
        ]
        slots = cls()
        for kind, target, slot in session.connection().execute(union_all(*selects)):
            if slot is None:
                slots.slotless[kind].append(target)
            else:
                slots.of[(kind, target)] = slot
        return slots


def _probe(kind: str, target: ColumnElement[bool], status: str | None) -> ColumnElement[bool]:
    """A matching row in the membership table (for targets without a slot)."""
    memberships = KINDS[kind][0]
    statuses = [memberships.c.status == status] if status else []
    stmt = select(memberships.c.id).where(memberships.c.user_id == U.c.id, target, *statuses)
    return stmt.exists()


class _Where:
    """Builds the conditions of one query with the slots it read."""

    def __init__(self, slots: _Slots) -> None:
        self.slots = slots

    def member(self, kind: str, target: str, status: str | None = None) -> ColumnElement[bool]:
        """A membership in `target` (with `status`, or any)."""
        _, target_column, _, mask = KINDS[kind]
        slot = self.slots.of.get((kind, target))
        if slot is not None:
            return mask.op("&")(derived.status_nibble(status) << (4 * slot)) != 0
        if target not in self.slots.slotless[kind]:
            return false()  # no such platform or group
        return _probe(kind, target_column == target, status)

    def with_status(self, kind: str, status: str) -> ColumnElement[bool]:
        """A membership of `kind` with `status`, in any target."""
        _, target_column, _, mask = KINDS[kind]
        in_slots = mask.op("&")(derived.every_slot(status)) != 0
        slotless = self.slots.slotless[kind]
        if not slotless:
            return in_slots
        return or_(in_slots, _probe(kind, target_column.in_(slotless), status))

    def visible_with_status(self, scope: AdminScope, kind: str, status: str) -> ColumnElement:
        """A membership of `kind` with `status`, in a target the scope sees."""
        if scope.unrestricted:
            return self.with_status(kind, status)
        return or_(false(), *(self.member(kind, t, status) for t in scope.targets(kind)))

    def in_scope(self, scope: AdminScope) -> ColumnElement[bool]:
        """Any membership in a platform or group of the scope."""
        if scope.unrestricted:
            return true()
        members = (self.member(kind, t) for kind in KINDS for t in scope.targets(kind))
        return or_(false(), *members)


def _named_targets(query: UserQuery, scope: AdminScope) -> dict[str, set[str]] | None:
    """The targets whose slots the query needs; None when it needs no slots at all."""
    names = {kind: set(scope.targets(kind)) for kind in KINDS}
    if query.platform is not None:
        names["platform"].add(query.platform)
    if query.group is not None:
        names["group"].add(query.group)
    status_filter = query.platform_status or query.group_status or query.status
    if any(names.values()) or status_filter:
        return names
    return None


def _check_status(value: str | None, option: str) -> None:
    if value is not None and value not in MEMBERSHIP_STATUSES:
        known = ", ".join(MEMBERSHIP_STATUSES)
        raise InvalidInput(f"{option}: unknown status {value!r} (one of {known})")


def where(session: Session, query: UserQuery, scope: AdminScope) -> list[ColumnElement[bool]]:
    """The conditions on users that `query` asks within `scope` (reads the slots it
    needs: at most one statement)."""
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
    names = _named_targets(query, scope)
    if names is None and scope.unrestricted:
        return conds
    # A restricted scope that names nothing sees no one: no slots to read for that.
    built = _Where(_Slots() if names is None else _Slots.read(session, names))
    conds.extend(_membership_conditions(built, query, scope))
    if query.platform is None and query.group is None and not scope.unrestricted:
        conds.append(built.in_scope(scope))
    return conds


def _membership_conditions(
    built: _Where, query: UserQuery, scope: AdminScope
) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    for kind, target, status, visible in (
        ("platform", query.platform, query.platform_status, scope.sees_platform),
        ("group", query.group, query.group_status, scope.sees_group),
    ):
        if target is not None:
            conds.append(built.member(kind, target, status) if visible(target) else false())
        elif status:
            conds.append(built.visible_with_status(scope, kind, status))
    if query.status:
        conds.append(
            or_(built.visible_with_status(scope, "platform", query.status),
                built.visible_with_status(scope, "group", query.status))
        )  # fmt: skip
    return conds


def scope_condition(scope: AdminScope) -> list[ColumnElement[bool]]:
    """The condition that one user is inside `scope` (none when unrestricted): probes of
    the membership tables, cheaper for a single user than reading slots."""
    if scope.unrestricted:
        return []
    probes = [
        _probe(kind, KINDS[kind][1].in_(scope.targets(kind)), None)
        for kind in KINDS
        if scope.targets(kind)
    ]
    return [or_(false(), *probes)]


def order_by(sort: str) -> list[Any]:
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
