"""Outboxes: work written in the same transaction as a decision, delivered after commit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, Text
from sqlmodel import Field, SQLModel

from aai_cli.models.base import created_timestamp, in_check, timestamp

ROLE_CHANGE_ACTIONS = ("assign", "remove")
ROLE_CHANGE_STATUSES = ("pending", "done", "dead")
EMAIL_STATUSES = ("pending", "sending", "sent", "dead")


def outbox_table_args(table: str, statuses: tuple[str, ...], *more: Any) -> tuple[Any, ...]:
    """An outbox's constraints: its status, and an index to find the rows due (then `more`)."""
    return (
        CheckConstraint(in_check("status", statuses), name="status"),
        Index(f"ix_{table}_status_next_attempt_at", "status", "next_attempt_at"),
        *more,
    )


class RoleChange(SQLModel, table=True):
    """An Auth0 role assignment or removal to push (the Auth0 outbox)."""

    __tablename__ = "role_changes"
    __table_args__ = outbox_table_args(
        "role_changes",
        ROLE_CHANGE_STATUSES,
        CheckConstraint(in_check("action", ROLE_CHANGE_ACTIONS), name="action"),
        Index("ix_role_changes_user_id_role_name", "user_id", "role_name"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(foreign_key="users.id", max_length=255)
    role_name: str = Field(max_length=255)
    action: str = Field(max_length=16)
    status: str = Field(default="pending", max_length=16)
    attempts: int = Field(default=0, nullable=False)
    next_attempt_at: datetime | None = timestamp()
    last_error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = created_timestamp()
    updated_at: datetime = created_timestamp()
    done_at: datetime | None = timestamp()


class EmailMessage(SQLModel, table=True):
    """A queued email (the email outbox)."""

    __tablename__ = "email_outbox"
    __table_args__ = outbox_table_args("email_outbox", EMAIL_STATUSES)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=64)
    to_address: str = Field(max_length=320)
    subject: str = Field(sa_type=Text)
    body_text: str = Field(sa_type=Text)
    body_html: str | None = Field(default=None, sa_type=Text)
    status: str = Field(default="pending", max_length=16)
    attempts: int = Field(default=0, nullable=False)
    next_attempt_at: datetime | None = timestamp()
    lease_until: datetime | None = timestamp()
    last_error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = created_timestamp()
    sent_at: datetime | None = timestamp()
