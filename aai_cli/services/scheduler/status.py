"""What `aai schedule status` reports: per job its last run, last success, next run, last
error and dead outbox rows, and whether it is healthy (succeeded within twice its interval).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from aai_cli.models import JobRun, utcnow
from aai_cli.services.scheduler.runner import JobSpec


@dataclass(frozen=True)
class JobStatus:
    job: str
    trigger: str
    last_run_at: datetime | None
    last_status: str | None
    last_run_by: str | None  # the scheduler process (`host:pid`) of the last run
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    next_run_at: datetime
    dead_letters: int | None
    healthy: bool


def job_statuses(
    session: Session, jobs: Sequence[JobSpec], *, now: datetime | None = None
) -> list[JobStatus]:
    now = now or utcnow()
    return [_status(session, spec, now) for spec in jobs]


def unhealthy(statuses: Sequence[JobStatus]) -> list[str]:
    return [status.job for status in statuses if not status.healthy]


def _status(session: Session, spec: JobSpec, now: datetime) -> JobStatus:
    last = _latest(session, spec.name)
    success = _latest(session, spec.name, "succeeded")
    failure = _latest(session, spec.name, "failed")
    success_at = success.started_at if success else None
    return JobStatus(
        job=spec.name,
        trigger=spec.trigger.describe(),
        last_run_at=last.started_at if last else None,
        last_status=last.status if last else None,
        last_run_by=last.runner if last else None,
        last_success_at=success_at,
        last_error=failure.error if failure else None,
        last_error_at=failure.started_at if failure else None,
        next_run_at=spec.trigger.next_run(last.started_at if last else None, now),
        dead_letters=_dead(session, spec.dead_letters) if spec.dead_letters else None,
        healthy=success_at is not None and now - success_at <= 2 * spec.trigger.interval,
    )


def _latest(session: Session, job: str, status: str | None = None) -> JobRun | None:
    query = select(JobRun).where(JobRun.job == job)
    if status:
        query = query.where(JobRun.status == status)
    order = (col(JobRun.started_at).desc(), col(JobRun.id).desc())
    return session.exec(query.order_by(*order).limit(1)).first()


def _dead(session: Session, model: Any) -> int:
    query = select(func.count()).select_from(model).where(model.status == "dead")
    return int(session.exec(query).one())
