"""Access decisions: one live membership per (user, platform|group) and its full history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import CheckConstraint, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from aai_cli.models.base import MEMBERSHIP_STATUSES, created_timestamp, in_check, timestamp

Kind = Literal["platform", "group"]


@dataclass(frozen=True)
class Target:
    """What a membership is for: a platform or a group, by id."""

    kind: Kind
    id: str

    def __str__(self) -> str:
        return f"{self.kind} {self.id}"


class PlatformMembership(SQLModel, table=True):
    __tablename__ = "platform_memberships"
    __table_args__ = (
        UniqueConstraint("user_id", "platform_id"),
        CheckConstraint(in_check("status", MEMBERSHIP_STATUSES), name="status"),
        Index("ix_platform_memberships_platform_id_status", "platform_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(foreign_key="users.id", max_length=255)
    platform_id: str = Field(foreign_key="platforms.id", max_length=64)
    status: str = Field(max_length=16)
    request_reason: str | None = Field(default=None, sa_type=Text)
    reason: str | None = Field(default=None, sa_type=Text)
    decided_by: str | None = Field(default=None, max_length=255)
    requested_at: datetime | None = timestamp()
    decided_at: datetime | None = timestamp()
    created_at: datetime = created_timestamp()
    updated_at: datetime = created_timestamp()


class GroupMembership(SQLModel, table=True):
    __tablename__ = "group_memberships"
    __table_args__ = (
        UniqueConstraint("user_id", "group_id"),
        CheckConstraint(in_check("status", MEMBERSHIP_STATUSES), name="status"),
        Index("ix_group_memberships_group_id_status", "group_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(foreign_key="users.id", max_length=255)
    group_id: str = Field(foreign_key="groups.id", max_length=255)
    status: str = Field(max_length=16)
    request_reason: str | None = Field(default=None, sa_type=Text)
    reason: str | None = Field(default=None, sa_type=Text)
    decided_by: str | None = Field(default=None, max_length=255)
    requested_at: datetime | None = timestamp()
    decided_at: datetime | None = timestamp()
    created_at: datetime = created_timestamp()
    updated_at: datetime = created_timestamp()


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
