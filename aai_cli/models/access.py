"""Access decisions: one live membership per (user, platform|group) and its full history.

Platform and group memberships are one concept keyed by a `Target` (kind + id); each kind
keeps its own table (for its foreign keys), and `TARGET_TABLES` maps a kind to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import CheckConstraint, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from aai_cli.models.base import MEMBERSHIP_STATUSES, created_timestamp, in_check, timestamp
from aai_cli.models.catalog import Group, GroupAdminRole, Platform, PlatformAdminRole

Kind = Literal["platform", "group"]


@dataclass(frozen=True)
class Target:
    """What a membership is for: a platform or a group, by id."""

    kind: Kind
    id: str

    def __str__(self) -> str:
        return f"{self.kind} {self.id}"

    @property
    def tables(self) -> TargetTables:
        return TARGET_TABLES[self.kind]

    def event_row(
        self,
        user_id: str,
        from_status: str | None,
        to_status: str,
        *,
        actor: str,
        reason: str | None,
        created_at: datetime,
    ) -> dict[str, Any]:
        """A `membership_events` row for this target: what a decision records one at a
        time and the sync writes in bulk."""
        return {
            "user_id": user_id,
            **self.tables.keyed(self.id),
            "from_status": from_status,
            "to_status": to_status,
            "actor": actor,
            "reason": reason,
            "created_at": created_at,
        }


class _Member(SQLModel):
    """The first columns of both membership tables (not a table): the row and its user."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(foreign_key="users.id", max_length=255)


class _PlatformMember(_Member):
    platform_id: str = Field(foreign_key="platforms.id", max_length=64)


class _GroupMember(_Member):
    group_id: str = Field(foreign_key="groups.id", max_length=255)


class MembershipState(SQLModel):
    """The status and decision columns both membership tables share (not a table).

    A table lists it first among its bases so that its columns follow the target's id
    (`class PlatformMembership(MembershipState, _PlatformMember)`: id, user_id,
    platform_id, status, ...), the order the tables were created in.
    """

    status: str = Field(max_length=16)
    request_reason: str | None = Field(default=None, sa_type=Text)
    reason: str | None = Field(default=None, sa_type=Text)
    decided_by: str | None = Field(default=None, max_length=255)
    requested_at: datetime | None = timestamp()
    decided_at: datetime | None = timestamp()
    created_at: datetime = created_timestamp()
    updated_at: datetime = created_timestamp()


def _membership_table_args(table: str, key: str) -> tuple[Any, ...]:
    """One live membership per (user, target); the status checked; a target's members
    found by status."""
    return (
        UniqueConstraint("user_id", key),
        CheckConstraint(in_check("status", MEMBERSHIP_STATUSES), name="status"),
        Index(f"ix_{table}_{key}_status", key, "status"),
    )


class PlatformMembership(MembershipState, _PlatformMember, table=True):
    __tablename__ = "platform_memberships"
    __table_args__ = _membership_table_args("platform_memberships", "platform_id")


class GroupMembership(MembershipState, _GroupMember, table=True):
    __tablename__ = "group_memberships"
    __table_args__ = _membership_table_args("group_memberships", "group_id")


@dataclass(frozen=True)
class TargetTables:
    """Where one kind of target lives. The platform and group tables are column-for-column
    twins (only their foreign keys differ), so code written against this works for both."""

    kind: Kind
    catalog: type[Platform | Group]
    membership: type[PlatformMembership | GroupMembership]
    admin_role: type[PlatformAdminRole | GroupAdminRole]
    # The target's id column in the membership, admin-role and event tables.
    key: str
    # The catalog column that names the Auth0 role granting access (a group's id is its role).
    access_role: str

    @property
    def label(self) -> str:
        return self.kind.capitalize()

    def membership_key(self) -> Any:
        """The membership table's target id column, for statements."""
        return getattr(self.membership, self.key)

    def admin_role_key(self) -> Any:
        return getattr(self.admin_role, self.key)

    def access_role_column(self) -> Any:
        return getattr(self.catalog, self.access_role)

    def new_membership(self, target_id: str, **values: Any) -> PlatformMembership | GroupMembership:
        return self.membership(**self.keyed(target_id), **values)

    def keyed(self, target_id: str) -> dict[str, Any]:
        """The target's id as keyword arguments (or row values) of these tables."""
        return {self.key: target_id}


# kind -> its tables; platforms first, the order every listing of both kinds keeps.
TARGET_TABLES: dict[Kind, TargetTables] = {
    "platform": TargetTables(
        "platform",
        Platform,
        PlatformMembership,
        PlatformAdminRole,
        key="platform_id",
        access_role="access_role_name",
    ),
    "group": TargetTables(
        "group", Group, GroupMembership, GroupAdminRole, key="group_id", access_role="id"
    ),
}


class MembershipEvent(SQLModel, table=True):
    """Append-only: every transition of a platform or group membership. Never deleted."""

    __tablename__ = "membership_events"
    __table_args__ = (
        CheckConstraint("(platform_id IS NULL) <> (group_id IS NULL)", name="one_target"),
        CheckConstraint(
            "from_status IS NULL OR " + in_check("from_status", MEMBERSHIP_STATUSES),
            name="from_status",
        ),
        CheckConstraint(in_check("to_status", MEMBERSHIP_STATUSES), name="to_status"),
        Index("ix_membership_events_user_id_created_at", "user_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(foreign_key="users.id", max_length=255)
    platform_id: str | None = Field(
        default=None, foreign_key="platforms.id", max_length=64, index=True
    )
    group_id: str | None = Field(default=None, foreign_key="groups.id", max_length=255, index=True)
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str = Field(max_length=16)
    actor: str = Field(max_length=255)
    reason: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = created_timestamp()
