"""The scheduled jobs and their triggers (from settings): the one place jobs are registered.

`AAI_SCHEDULE_EXTRA_JOBS=module:function` adds jobs from a callable returning `JobSpec`s
(plugins; the process-level tests use it for a job they can hold and release).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from aai_cli.db import session_scope
from aai_cli.errors import ConfigError, UsageError
from aai_cli.models import EmailMessage, RegistrationRecord, RoleChange
from aai_cli.services.access.registration_records import finish_registrations
from aai_cli.services.access.role_outbox import push_role_changes
from aai_cli.services.accounts.codes import prune_codes
from aai_cli.services.actions import prune_spent
from aai_cli.services.auth0 import get_gateway
from aai_cli.services.email.delivery import deliver_pending
from aai_cli.services.ratelimits import prune_expired
from aai_cli.services.scheduler.cleanup import prune_runs
from aai_cli.services.scheduler.runner import DailyAt, Every, JobContext, JobSpec
from aai_cli.services.sync.runner import run_sync
from aai_cli.settings import Settings

if TYPE_CHECKING:
    from aai_cli.services.sync.runner import Mode

EXTRA_JOBS_ENV = "AAI_SCHEDULE_EXTRA_JOBS"
CLEANUP_AT = "03:30"


def _sync_job(mode: Mode) -> Callable[[JobContext], Any]:
    def run(ctx: JobContext) -> Any:

        return run_sync(mode=mode, job=ctx.name)

    return run


def _push_role_changes(ctx: JobContext) -> Any:

    with session_scope(ctx.url) as session:
        return push_role_changes(session, get_gateway(), now=ctx.now)


def _deliver_email(ctx: JobContext) -> Any:

    with session_scope(ctx.url) as session:
        return deliver_pending(session, now=ctx.now)


def _registrations_job(retention_days: int) -> Callable[[JobContext], Any]:
    def run(ctx: JobContext) -> Any:

        return finish_registrations(
            get_gateway, url=ctx.url, now=ctx.now, retention_days=retention_days
        )

    return run


def _cleanup_job(retention_days: int) -> Callable[[JobContext], Any]:
    def run(ctx: JobContext) -> Any:

        with session_scope(ctx.url) as session:
            return prune_runs(session, retention_days=retention_days, now=ctx.now)

    return run


def _codes_job(ctx: JobContext) -> Any:
    with session_scope(ctx.url) as session:
        return {
            "deleted": prune_codes(session, now=ctx.now),
            "spent_session_tokens": prune_spent(session, now=ctx.now),
            "expired_rate_limits": prune_expired(session, now=ctx.now),
        }


def default_jobs(settings: Settings) -> list[JobSpec]:
    """Every scheduled job with its trigger: the one place jobs are registered."""
    return [
        JobSpec(
            "sync-incremental",
            Every(settings.sync_interval_minutes),
            _sync_job("incremental"),
            "copy Auth0 changes since the last sync",
        ),
        JobSpec(
            "sync-full",
            DailyAt(settings.sync_full_at),
            _sync_job("full"),
            "export-based reconciliation with the deletion guard",
        ),
        JobSpec(
            "auth0-outbox",
            Every(1),
            _push_role_changes,
            "push pending role changes to Auth0",
            dead_letters=RoleChange,
        ),
        JobSpec(
            "email-outbox",
            Every(1),
            _deliver_email,
            "deliver queued email",
            dead_letters=EmailMessage,
        ),
        JobSpec(
            "registrations",
            Every(1),
            _registrations_job(settings.job_retention_days),
            "finish registrations interrupted after Auth0 created the user",
            dead_letters=RegistrationRecord,
        ),
        JobSpec(
            "codes",
            Every(15),
            _codes_job,
            "delete expired email-change codes, spent session tokens and full rate limits",
        ),
        JobSpec(
            "cleanup",
            DailyAt(CLEANUP_AT),
            _cleanup_job(settings.job_retention_days),
            f"prune sync and job runs older than {settings.job_retention_days} days",
        ),
    ]


def extra_jobs(reference: str | None) -> list[JobSpec]:
    """Jobs from `module:function` (a callable returning JobSpecs), for plugins and tests."""
    if not reference:
        return []
    module_name, _, attribute = reference.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
        return list(factory())
    except (ImportError, AttributeError, ValueError, TypeError) as exc:
        raise ConfigError(f"{EXTRA_JOBS_ENV}: cannot load jobs from {reference!r}: {exc}") from None


def registered_jobs(settings: Settings, *, extra: str | None = None) -> list[JobSpec]:
    jobs = default_jobs(settings) + extra_jobs(extra or os.environ.get(EXTRA_JOBS_ENV))
    names = [job.name for job in jobs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ConfigError(f"jobs registered twice: {', '.join(duplicates)}")
    return jobs


def select_jobs(jobs: Sequence[JobSpec], only: Sequence[str] | None) -> list[JobSpec]:
    if not only:
        return list(jobs)
    known = {job.name for job in jobs}
    unknown = [name for name in only if name not in known]
    if unknown:
        raise UsageError(
            f"unknown job: {', '.join(unknown)}", hint=f"jobs: {', '.join(sorted(known))}"
        )
    return [job for job in jobs if job.name in only]
