"""Account management: the identity history and the one-time codes of email changes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, Text
from sqlmodel import Field, SQLModel

from aai_cli.models.base import created_timestamp, in_check, timestamp, utcnow

# username/email/name: a value changed (old -> new); deleted/restored: the account was
# soft-deleted or brought back; blocked/unblocked: Auth0's `blocked` flag changed.
IDENTITY_KINDS = ("username", "email", "name", "deleted", "restored", "blocked", "unblocked")
VALUE_WIDTH = 320  # old_value, new_value


class IdentityEvent(SQLModel, table=True):
    """Append-only: every change of a user's identity, by whoever made it (a person
    through the API or the CLI, or the sync seeing it in Auth0). Never updated or deleted;
    its old values keep usernames and emails from being reused by someone else."""

    __tablename__ = "identity_events"
    __table_args__ = (
        CheckConstraint(in_check("kind", IDENTITY_KINDS), name="kind"),
        Index("ix_identity_events_user_id_created_at", "user_id", "created_at"),
        Index("ix_identity_events_kind_old_value", "kind", "old_value"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(foreign_key="users.id", max_length=255)
    kind: str = Field(max_length=16)
    old_value: str | None = Field(default=None, max_length=VALUE_WIDTH)
    new_value: str | None = Field(default=None, max_length=VALUE_WIDTH)
    actor: str = Field(max_length=255)
    reason: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = created_timestamp()


def identity_event_row(
    user_id: str,
    kind: str,
    actor: str,
    *,
    old_value: str | None = None,
    new_value: str | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """An `identity_events` row, its values cut to the column's width: what the account
    services record one at a time and the sync writes in bulk."""
    return {
        "user_id": user_id,
        "kind": kind,
        "old_value": old_value[:VALUE_WIDTH] if old_value else old_value,
        "new_value": new_value[:VALUE_WIDTH] if new_value else new_value,
        "actor": actor,
        "reason": reason,
        "created_at": utcnow(),
    }


class EmailChangeCode(SQLModel, table=True):
    """A one-time code sent to a new address; only its salted SHA-256 hash is kept.
    `active` turns false when it is used, replaced, or out of attempts."""

    __tablename__ = "email_change_codes"
    __table_args__ = (
        Index("ix_email_change_codes_user_id_active", "user_id", "active"),
        Index("ix_email_change_codes_expires_at", "expires_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(foreign_key="users.id", max_length=255)
    new_email: str = Field(max_length=320)
    code_hash: str = Field(max_length=128)
    attempts: int = Field(default=0, nullable=False)
    active: bool = Field(default=True, nullable=False)
    expires_at: datetime = timestamp(nullable=False)
    consumed_at: datetime | None = timestamp()
    created_at: datetime = created_timestamp()
