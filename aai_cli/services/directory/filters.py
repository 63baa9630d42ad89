"""What the directory is asked (`UserQuery`), who asks (`AdminScope`), and the WHERE
clause that answers: predicates on the users table alone.

Memberships are matched through the users' membership masks (models/derived/): a bit
test per row, so any combination of filters is one pass over users. The masks need the
slots of the platforms and groups a query names; one small statement reads them (and
the targets that have no slot, which are matched by probing their membership table
instead). A query that names no platform, group or status reads none.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, false, func, or_, select, true
from sqlmodel import Session

from aai_cli.errors import InvalidInput, NotFound
from aai_cli.models import GROUP_PREFIX, MEMBERSHIP_STATUSES, User, table_of
from aai_cli.models.derived import masks
from aai_cli.services.directory.lookup import escape_like

U = table_of(User)
# kind -> (membership table, its target column, catalog table, the users mask column)
KINDS = masks.TABLES
PM = KINDS["platform"].memberships
GM = KINDS["group"].memberships
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
    """Filters combined with AND. Platform filters match only platforms the scope sees;
    group filters match any group (the scope's visibility rule still applies)."""

    platform: str | None = None
    platform_status: str | None = None  # status of THAT membership
    group: str | None = None
    group_status: str | None = None  # status of THAT membership
    status: str | None = None  # any (in-scope) membership with this status
    search: str | None = None  # email/username substring, trimmed
    email_verified: bool | None = None
    blocked: bool | None = None
    deleted: bool = False  # False: live users only; True: only soft-deleted ones
    filter_by: str | None = None  # a platform id or a group's last part (any status)
    exclude: str | None = None  # a user id left out (the admin asking)


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
        slots = cls()
        for kind, target, slot in masks.read_slots(session.connection(), names):
            if slot is None:
                slots.slotless[kind].append(target)
            else:
                slots.of[(kind, target)] = slot
        return slots

    def has(self, kind: str, target: str) -> bool:
        return (kind, target) in self.of or target in self.slotless[kind]


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

    def _bits(self, kind: str, targets: list[str] | None, status: str | None) -> _Bits:
        """The mask bits meaning a membership with `status` (None: any) in one of
        `targets` (None: any target), and the targets without a slot."""
        if targets is None:
            return _Bits(masks.every_slot(status), list(self.slots.slotless[kind]))
        slots, slotless = [], []
        for target in targets:
            slot = self.slots.of.get((kind, target))
            if slot is not None:
                slots.append(slot)
            elif target in self.slots.slotless[kind]:
                slotless.append(target)  # else no such platform or group: never matches
        return _Bits(masks.bits(status, slots), slotless)

    def _any(self, kind: str, targets: list[str] | None, status: str | None) -> ColumnElement[bool]:
        """A membership with `status` in one of `targets`: one bit test on the user's
        mask, and a probe of the membership table for the targets without a slot."""
        found = self._bits(kind, targets, status)
        conds = [masks.has_any(kind, found.bits)] if found.bits else []
        if found.slotless:
            conds.append(_probe(kind, KINDS[kind].target.in_(found.slotless), status))
        return or_(false(), *conds)

    def member(self, kind: str, target: str, status: str | None = None) -> ColumnElement[bool]:
        """A membership in `target` (with `status`, or any)."""
        return self._any(kind, [target], status)

    def visible_with_status(self, scope: AdminScope, kind: str, status: str) -> ColumnElement:
        """A membership of `kind` with `status`, in a target the scope sees."""
        return self._any(kind, None if scope.unrestricted else scope.targets(kind), status)

    def member_visible(
        self, scope: AdminScope, kind: str, target: str, status: str | None
    ) -> ColumnElement[bool]:
        """A membership in `target` (with `status`, or any); platform filters match only
        the platforms the scope sees."""
        if kind == "platform" and not scope.sees_platform(target):
            return false()
        return self.member(kind, target, status)

    def visible_with_any_status(self, scope: AdminScope, status: str) -> ColumnElement[bool]:
        """A membership with `status` in a platform or group the scope sees."""
        return or_(
            self.visible_with_status(scope, "platform", status),
            self.visible_with_status(scope, "group", status),
        )

    def status_test(self, scope: AdminScope, status: str) -> Callable[[int, int], bool] | None:
        """`visible_with_any_status` as a test of a (platform_mask, group_mask) pair;
        None when a target it needs has no slot (only its membership table can tell)."""
        found = [
            self._bits(kind, None if scope.unrestricted else scope.targets(kind), status)
            for kind in KINDS
        ]
        if any(f.slotless for f in found):
            return None
        platform_bits, group_bits = (f.bits for f in found)
        return lambda platform_mask, group_mask: bool(
            platform_mask & platform_bits or group_mask & group_bits
        )

    def in_scope(self, scope: AdminScope) -> ColumnElement[bool]:
        """Any membership in a platform or group of the scope."""
        if scope.unrestricted:
            return true()
        return or_(*(self._any(kind, scope.targets(kind), None) for kind in KINDS))


@dataclass(frozen=True)
class _Bits:
    bits: int
    slotless: list[str]


def _named_targets(query: UserQuery, scope: AdminScope, force: bool) -> dict[str, set[str]] | None:
    """The targets whose slots the query needs; None when it needs no slots at all
    (unless `force`: statuses are counted)."""
    names = {kind: set(scope.targets(kind)) for kind in KINDS}
    if query.platform is not None:
        names["platform"].add(query.platform)
    if query.group is not None:
        names["group"].add(query.group)
    if query.filter_by is not None:
        names["platform"].add(query.filter_by)
        names["group"].add(GROUP_PREFIX + query.filter_by)
    status_filter = query.platform_status or query.group_status or query.status
    if force or any(names.values()) or status_filter:
        return names
    return None


def _check(query: UserQuery) -> None:
    for value, option in (
        (query.platform_status, "platform_status"),
        (query.group_status, "group_status"),
        (query.status, "status"),
    ):
        if value is not None and value not in MEMBERSHIP_STATUSES:
            known = ", ".join(MEMBERSHIP_STATUSES)
            raise InvalidInput(f"{option}: unknown status {value!r} (one of {known})")
    if query.status and (query.platform_status or query.group_status):
        raise InvalidInput(
            "approval_status cannot be used with platform_approval_status or group_approval_status"
        )
    if any(unicodedata.category(c) == "Cc" for c in (query.search or "").strip()):
        raise InvalidInput("search must not contain control characters")


@dataclass
class Prepared:
    """A query's conditions on users but the one that leaves `exclude` out (it would
    make a count read every table row: the narrow indexes do not hold the id), and the
    builder (with its slots) for more."""

    conds: list[ColumnElement[bool]]
    built: _Where | None
    exclude: str | None

    @property
    def all_conds(self) -> list[ColumnElement[bool]]:
        return [*self.conds, *([U.c.id != self.exclude] if self.exclude is not None else [])]


def where(session: Session, query: UserQuery, scope: AdminScope) -> list[ColumnElement[bool]]:
    """The conditions on users that `query` asks within `scope` (reads the slots it
    needs: at most one statement)."""
    return prepare(session, query, scope).all_conds


def prepare(
    session: Session, query: UserQuery, scope: AdminScope, *, force: bool = False
) -> Prepared:
    """`where`, keeping the builder; `force` reads the slots even when the query names
    nothing (to add status conditions)."""
    _check(query)
    conds: list[ColumnElement[bool]] = [
        U.c.deleted_at.is_not(None) if query.deleted else U.c.deleted_at.is_(None)
    ]
    if query.email_verified is not None:
        conds.append(U.c.email_verified == query.email_verified)
    if query.blocked is not None:
        conds.append(U.c.blocked == query.blocked)
    search = (query.search or "").strip()
    if search:
        # Lowered by the database on both sides, as `search_text` is (models/derived/).
        pattern = f"%{escape_like(search)}%"
        conds.append(U.c.search_text.like(func.lower(pattern), escape="\\"))
    names = _named_targets(query, scope, force)
    if names is None and scope.unrestricted:
        return Prepared(conds, None, query.exclude)
    # A restricted scope that names nothing sees no one: no slots to read for that.
    built = _Where(_Slots() if names is None else _Slots.read(session, names))
    conds.extend(_membership_conditions(built, query, scope))
    return Prepared(conds, built, query.exclude)


def _filter_by_target(slots: _Slots, value: str) -> tuple[str, str]:
    if slots.has("platform", value):
        return "platform", value
    if slots.has("group", GROUP_PREFIX + value):
        return "group", GROUP_PREFIX + value
    raise InvalidInput(f"Invalid filter_by value '{value}'")


def _require_named(slots: _Slots, query: UserQuery) -> None:
    if query.platform is not None and not slots.has("platform", query.platform):
        raise NotFound(f"Platform '{query.platform}' not found")
    if query.group is not None and not slots.has("group", query.group):
        raise NotFound(f"Group '{query.group}' not found")


def _membership_conditions(
    built: _Where, query: UserQuery, scope: AdminScope
) -> list[ColumnElement[bool]]:
    """Each filter on its own (a target and its status on the same membership), then
    the scope's visibility unless a filter already stays inside the scope."""
    _require_named(built.slots, query)
    conds: list[ColumnElement[bool]] = []
    named = [
        ("platform", query.platform, query.platform_status),
        ("group", query.group, query.group_status),
    ]
    if query.filter_by is not None:
        named.append((*_filter_by_target(built.slots, query.filter_by), None))
    inside_scope = False
    for kind, target, status in named:
        if target is not None:
            conds.append(built.member_visible(scope, kind, target, status))
            inside_scope |= kind == "platform"
        elif status:
            conds.append(built.visible_with_status(scope, kind, status))
            inside_scope = True
    if query.status:
        conds.append(built.visible_with_any_status(scope, query.status))
        inside_scope = True
    if not inside_scope and not scope.unrestricted:
        conds.append(built.in_scope(scope))
    return conds


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
