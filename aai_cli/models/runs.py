"""Records of sync runs, sync cursors and scheduler job runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Index, Text
from sqlmodel import Field, SQLModel

from aai_cli.models.base import created_timestamp, in_check, timestamp

RUN_STATUSES = ("running", "succeeded", "failed")


def run_table_args(table: str) -> tuple[Any, ...]:
    """A run record's constraints: its status, and an index to find a job's latest runs."""
    return (
        CheckConstraint(in_check("status", RUN_STATUSES), name="status"),
        Index(f"ix_{table}_job_started_at", "job", "started_at"),
    )


class SyncRun(SQLModel, table=True):
    """One sync: what it did, how many Auth0 requests it made, how it ended."""

    __tablename__ = "sync_runs"
    __table_args__ = run_table_args("sync_runs")

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=64)
    mode: str | None = Field(default=None, max_length=16)
    dry_run: bool = Field(default=False, nullable=False)
    status: str = Field(default="running", max_length=16)
    started_at: datetime = created_timestamp()
    finished_at: datetime | None = timestamp()
    counts: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    auth0_requests: int = Field(default=0, nullable=False)
    rate_limited: int = Field(default=0, nullable=False)
    error: str | None = Field(default=None, sa_type=Text)


class SyncState(SQLModel, table=True):
    """Named cursors of the sync (the incremental watermark)."""

    __tablename__ = "sync_state"

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(sa_type=Text)
    updated_at: datetime = created_timestamp()


class JobRun(SQLModel, table=True):
    """One run of a scheduled job and how it ended."""

    __tablename__ = "job_runs"
    __table_args__ = run_table_args("job_runs")

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=64)
    status: str = Field(default="running", max_length=16)
    started_at: datetime = created_timestamp()
    finished_at: datetime | None = timestamp()
    counts: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    error: str | None = Field(default=None, sa_type=Text)
    # the scheduler process that ran it (`host:pid`), so that status shows which replica
    runner: str | None = Field(default=None, max_length=255)
