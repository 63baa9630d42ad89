"""The masks as the directory's queries read them (services/directory/filters.py and
queue.py): the tables of each kind, the bits that mean a status in a slot, a test on a
user's mask, its decoding, and the catalog's slots in one statement."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Table, literal, or_, select, union_all
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from aai_cli.models.access import GroupMembership, PlatformMembership
from aai_cli.models.base import MEMBERSHIP_STATUSES, table_of
from aai_cli.models.catalog import Group, Platform
from aai_cli.models.derived.spec import FACETS, SLOTS, STATUS_BIT
from aai_cli.models.identity import User


class Tables(NamedTuple):
    """One kind's membership table, its target column, its catalog, the users mask."""

    memberships: Table
    target: Any
    catalog: Table
    mask: Any


_MODELS: dict[str, tuple[type[SQLModel], type[SQLModel]]] = {
    "platform": (PlatformMembership, Platform),
    "group": (GroupMembership, Group),
}
TABLES = {
    f.kind: Tables(
        (memberships := table_of(_MODELS[f.kind][0])),
        memberships.c[f.target],
        table_of(_MODELS[f.kind][1]),
        table_of(User).c[f.mask],
    )
    for f in FACETS
}


def status_nibble(status: str | None) -> int:
    """The bits of one slot that mean `status` (None: any status)."""
    return 0b1111 if status is None else 1 << STATUS_BIT[status]


def bits(status: str | None, slots: Iterable[int] = range(SLOTS)) -> int:
    """The bits that mean `status` (None: any status) in any of `slots` (default all)."""
    return sum(status_nibble(status) << (4 * slot) for slot in set(slots))


def every_slot(status: str | None) -> int:
    """The bits that mean `status` (None: any status) in any slot."""
    return bits(status)


def has_any(kind: str, mask_bits: int) -> ColumnElement[bool]:
    """The user's `kind` mask has one of `mask_bits` set."""
    return TABLES[kind].mask.op("&")(mask_bits) != 0


def status_at(mask: int, slot: int) -> str | None:
    """The status of the membership a mask holds in `slot` (None: none). A user has one
    membership per target, so at most one bit of the slot is set."""
    nibble = (mask >> (4 * slot)) & 0b1111
    return MEMBERSHIP_STATUSES[nibble.bit_length() - 1] if nibble else None


def read_slots(
    connection: Connection, names: dict[str, set[str]] | None = None
) -> list[tuple[str, str, int | None]]:
    """(kind, target id, slot) of the targets `names` lists per kind and of every target
    without a slot; None: of every target. One statement, each kind in id order."""
    selects = []
    for kind, tables in TABLES.items():
        catalog = tables.catalog
        stmt = select(literal(kind).label("kind"), catalog.c.id, catalog.c.facet_slot)
        if names is not None:
            named = catalog.c.id.in_(sorted(names[kind]))
            stmt = stmt.where(or_(named, catalog.c.facet_slot.is_(None)))
        selects.append(stmt)
    ordered = union_all(*selects).order_by("kind", "id")
    return [(kind, target, slot) for kind, target, slot in connection.execute(ordered)]
