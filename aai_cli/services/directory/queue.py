"""The admins' queue (pending requests, oldest first) and membership counts per
platform/group and status, within an admin's scope. Re-exported by `services.directory`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, literal, select, union_all
from sqlmodel import Session

from aai_cli.models import MEMBERSHIP_STATUSES, utcnow
from aai_cli.models.derived import masks
from aai_cli.services.directory.filters import (
    GM,
    KINDS,
    PM,
    AdminScope,
    U,
    group_scope,
    platform_scope,
)


@dataclass(frozen=True)
class PendingRequest:
    user_id: str
    email: str | None
    username: str | None
    kind: str  # platform | group
    target_id: str
    request_reason: str | None
    requested_at: datetime | None
    age_s: int | None = field(init=False)  # seconds since the request, when it was read

    def __post_init__(self) -> None:
        object.__setattr__(self, "age_s", self.age_seconds())  # frozen: set once here

    def age_seconds(self, now: datetime | None = None) -> int | None:
        if self.requested_at is None:
            return None
        return int(((now or utcnow()) - self.requested_at).total_seconds())


# --- counts and the pending queue --------------------------------------------------


def status_counts(session: Session, *, scope: AdminScope | None = None) -> dict[str, Any]:
    """Live users' memberships per platform/group and status (zeros included).

    One pass over the live users grouped by their membership masks (models/derived/;
    a few dozen distinct pairs, read from the narrow facets index), decoded here; the
    targets without a slot are counted from their membership rows.
    """
    scope = scope or AdminScope.everything()
    result: dict[str, dict[str, dict[str, int]]] = {"platforms": {}, "groups": {}}
    slots: dict[tuple[str, str], int] = {}
    slotless: dict[str, list[str]] = {kind: [] for kind in KINDS}
    conn = session.connection()
    for kind, target_id, slot in masks.read_slots(conn):
        visible = scope.sees_platform if kind == "platform" else scope.sees_group
        if visible(target_id):
            result[f"{kind}s"][target_id] = dict.fromkeys(MEMBERSHIP_STATUSES, 0)
            if slot is None:
                slotless[kind].append(target_id)
            else:
                slots[(kind, target_id)] = slot
    by_masks = (
        select(U.c.platform_mask, U.c.group_mask, func.count())
        .where(U.c.deleted_at.is_(None))
        .group_by(U.c.platform_mask, U.c.group_mask)
    )
    for platform_mask, group_mask, users in conn.execute(by_masks) if slots else ():
        for (kind, target_id), slot in slots.items():
            status = masks.status_at(platform_mask if kind == "platform" else group_mask, slot)
            if status is not None:
                result[f"{kind}s"][target_id][status] += int(users)
    for kind, targets in slotless.items():
        if not targets:
            continue
        table, column = KINDS[kind].memberships, KINDS[kind].target
        stmt = (
            select(column, table.c.status, func.count())
            .join(U, U.c.id == table.c.user_id)
            .where(U.c.deleted_at.is_(None), column.in_(targets))
            .group_by(column, table.c.status)
        )
        for target_id, status, count in conn.execute(stmt):
            result[f"{kind}s"][target_id][status] = int(count)
    return result


def list_pending(
    session: Session,
    *,
    platform: str | None = None,
    group: str | None = None,
    scope: AdminScope | None = None,
    limit: int | None = None,
) -> list[PendingRequest]:
    """The requests waiting for a decision (live users), oldest first."""
    scope = scope or AdminScope.everything()
    selects = []
    if group is None:
        conds = [PM.c.status == "pending", *platform_scope(scope)]
        if platform is not None:
            conds.append(PM.c.platform_id == platform)
        selects.append(_pending_select(PM, PM.c.platform_id, "platform", conds))
    if platform is None:
        conds = [GM.c.status == "pending", *group_scope(scope)]
        if group is not None:
            conds.append(GM.c.group_id == group)
        selects.append(_pending_select(GM, GM.c.group_id, "group", conds))
    stmt = union_all(*selects).order_by("requested_at", "user_id", "target_id")
    if limit is not None:
        stmt = stmt.limit(limit)
    return [PendingRequest(**dict(row)) for row in session.connection().execute(stmt).mappings()]


def _pending_select(table: Any, target: Any, kind: str, conds: list[Any]) -> Any:
    return (
        select(
            table.c.user_id,
            U.c.email,
            U.c.username,
            literal(kind).label("kind"),
            target.label("target_id"),
            table.c.request_reason,
            func.coalesce(table.c.requested_at, table.c.updated_at).label("requested_at"),
        )
        .join(U, U.c.id == table.c.user_id)
        .where(U.c.deleted_at.is_(None), and_(*conds))
    )
