"""Retention: prune sync-run and job-run records older than `JOB_RETENTION_DAYS`.

The latest run and the latest successful run of every job are always kept (status and
the sync still need them), as are runs still marked running. Membership events are the
access history and are never pruned.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from aai_cli.models import JobRun, SyncRun, utcnow


def prune_runs(
    session: Session, *, retention_days: int, now: datetime | None = None
) -> dict[str, int]:
    """Delete old sync_runs and job_runs rows; returns how many of each went."""
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    return {
        "sync_runs_deleted": _prune(session, SyncRun, cutoff),
        "job_runs_deleted": _prune(session, JobRun, cutoff),
    }


def _prune(session: Session, model: type[SyncRun] | type[JobRun], cutoff: datetime) -> int:
    latest = select(func.max(model.id)).group_by(model.job)
    latest_success = latest.where(model.status == "succeeded")
    statement = delete(model).where(
        col(model.started_at) < cutoff,
        col(model.status) != "running",
        col(model.id).not_in(latest),
        col(model.id).not_in(latest_success),
    )
    return session.exec(statement).rowcount or 0
