"""The Auth0 Action flows: session tokens already used, and the one welcome per person."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from aai_cli.models.base import created_timestamp, timestamp


class SessionTokenUse(SQLModel, table=True):
    """A session token an Action signed, spent by the flow it was sent to: the same token
    is refused afterwards. Only its SHA-256 digest is kept, until it would have expired
    anyway (then the `codes` job deletes the row)."""

    __tablename__ = "session_token_uses"
    __table_args__ = (Index("ix_session_token_uses_expires_at", "expires_at"),)

    digest: str = Field(primary_key=True, max_length=64)
    flow: str = Field(max_length=32)
    # no foreign key: the Action's user may not be in the directory yet
    user_id: str = Field(max_length=255)
    expires_at: datetime = timestamp(nullable=False)
    used_at: datetime = created_timestamp()


class WelcomeEmail(SQLModel, table=True):
    """The welcome email a person was sent: one per Auth0 user, whoever asks again."""

    __tablename__ = "welcome_emails"

    user_id: str = Field(primary_key=True, max_length=255)
    email_id: int | None = Field(
        default=None, foreign_key="email_outbox.id", ondelete="SET NULL", index=True
    )
    created_at: datetime = created_timestamp()
