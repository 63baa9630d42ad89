"""Registrations in flight: recorded before the Auth0 user is created, finished after.

A row never holds the password. `requests` is what the registration asked for
(`[{kind, id, reason}]`), so a registration interrupted after Auth0 created the user can
be finished later (by the `registrations` job) exactly as it was asked, without trusting
a later request.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Index, Text
from sqlmodel import Field, SQLModel

from aai_cli.models.base import created_timestamp, in_check, timestamp

# started: recorded, Auth0 not (yet) known to have the user; auth0_created: Auth0 has the
# user, the database side is not done; done; failed: no Auth0 user came of it; dead: the
# database side kept failing (an operator looks at `last_error`).
REGISTRATION_STATUSES = ("started", "auth0_created", "done", "failed", "dead")


class RegistrationRecord(SQLModel, table=True):
    __tablename__ = "registrations"
    __table_args__ = (
        CheckConstraint(in_check("status", REGISTRATION_STATUSES), name="status"),
        CheckConstraint(in_check("kind", ("biocommons", "sbp")), name="kind"),
        Index("ix_registrations_status_updated_at", "status", "updated_at"),
    )

    # Also sent to Auth0 as app_metadata.registration_id: how an interrupted registration
    # recognises the Auth0 user it created.
    id: str = Field(primary_key=True, max_length=32)
    kind: str = Field(max_length=16)
    email: str = Field(max_length=320, index=True)
    username: str = Field(max_length=128)
    requests: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    status: str = Field(default="started", max_length=16)
    user_id: str | None = Field(default=None, max_length=255)
    attempts: int = Field(default=0, nullable=False)
    last_error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = created_timestamp()
    updated_at: datetime = created_timestamp()
    completed_at: datetime | None = timestamp()
