"""The public routes' rate limits, shared by every worker and replica."""

from __future__ import annotations

from sqlalchemy import Index
from sqlmodel import Field, SQLModel


class RateLimitState(SQLModel, table=True):
    """One client's standing against one limit (generic cell rate algorithm): `full_at` is
    the instant its allowance is whole again, in seconds since the epoch by the database's
    clock. A row whose `full_at` has passed says nothing a missing row would not, so the
    `codes` job deletes it."""

    __tablename__ = "rate_limits"
    __table_args__ = (Index("ix_rate_limits_full_at", "full_at"),)

    name: str = Field(primary_key=True, max_length=64)
    client_key: str = Field(primary_key=True, max_length=255)  # a client address, a user id
    full_at: float
    allowed: bool  # the verdict on the latest hit (the upsert returns it)
