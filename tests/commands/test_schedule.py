"""`aai schedule --list/--once/--only` and `aai schedule status` through the CLI."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import select

from aai_cli.db import session_scope
from aai_cli.models import JobRun, utcnow
from aai_cli.services.scheduler import Every, JobSpec
from tests.cli import aai
from tests.jobs import DEFAULT_JOB_NAMES


def explode(ctx) -> None:  # type: ignore[no-untyped-def]
    raise RuntimeError("the job blew up")


def failing_jobs() -> list[JobSpec]:
    return [JobSpec("explode", Every(1), explode, "always fails")]


def job_rows(job: str) -> list[tuple[str, str]]:
    with session_scope() as session:
        return list(session.exec(select(JobRun.job, JobRun.status).where(JobRun.job == job)))


def test_list_prints_the_jobs_with_triggers_from_settings(settings_env) -> None:
    settings_env(SYNC_INTERVAL_MINUTES="5", SYNC_FULL_AT="04:15")
    result = aai("schedule", "--list", "--json")
    assert result.exit_code == 0, result.stderr
    jobs = {row["job"]: row["trigger"] for row in json.loads(result.stdout)}
    assert list(jobs) == DEFAULT_JOB_NAMES
    assert jobs["sync-incremental"] == "every 5 minutes"
    assert jobs["sync-full"] == "daily at 04:15 UTC"
    assert jobs["email-outbox"] == "every minute"
    table = aai("schedule", "--list")
    assert table.exit_code == 0 and "daily at 04:15 UTC" in table.stdout


def test_once_runs_a_due_job_one_time(db_url: str) -> None:
    first = aai("schedule", "--once", "--only", "cleanup")
    assert first.exit_code == 0, first.stderr
    assert "cleanup: succeeded" in first.stderr and first.stdout == ""
    second = aai("schedule", "--once", "--only", "cleanup", "--json")
    assert second.exit_code == 0
    [outcome] = json.loads(second.stdout)
    assert (outcome["job"], outcome["status"]) == ("cleanup", "skipped")
    assert outcome["detail"] == "already ran this period"
    assert job_rows("cleanup") == [("cleanup", "succeeded")]


def test_a_failing_job_fails_once_but_the_others_still_run(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AAI_SCHEDULE_EXTRA_JOBS", f"{__name__}:failing_jobs")
    result = aai("schedule", "--once", "--only", "explode", "--only", "cleanup")
    assert result.exit_code == 1
    assert "explode: failed: RuntimeError: the job blew up" in result.stderr
    assert "error: 1 job(s) failed: explode" in result.stderr
    assert "Traceback" not in result.stdout
    assert job_rows("explode") == [("explode", "failed")]
    assert job_rows("cleanup") == [("cleanup", "succeeded")]


def test_an_unknown_job_is_a_usage_error() -> None:
    result = aai("schedule", "--once", "--only", "nope")
    assert result.exit_code == 2
    assert "unknown job: nope" in result.stderr and "cleanup" in result.stderr


def test_unloadable_extra_jobs_are_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AAI_SCHEDULE_EXTRA_JOBS", "no_such_module:jobs")
    result = aai("schedule", "--list")
    assert result.exit_code == 6
    assert "AAI_SCHEDULE_EXTRA_JOBS" in result.stderr


def test_status_exits_3_until_every_job_succeeded_recently(db_url: str) -> None:
    stale = aai("schedule", "status", "--json")
    assert stale.exit_code == 3
    statuses = json.loads(stale.stdout)
    assert [s["job"] for s in statuses] == DEFAULT_JOB_NAMES
    assert all(s["healthy"] is False and s["last_status"] is None for s in statuses)
    assert "not succeeded within twice their interval: sync-incremental" in stale.stderr

    now = utcnow()
    with session_scope() as session:
        for job in DEFAULT_JOB_NAMES:
            session.add(JobRun(job=job, status="succeeded", started_at=now, finished_at=now))
        session.add(
            JobRun(
                job="auth0-outbox",
                status="failed",
                started_at=now - timedelta(seconds=30),
                error="Auth0Unavailable: Auth0 answered 503",
            )
        )
    healthy = aai("schedule", "status")
    assert healthy.exit_code == 0, healthy.stderr
    assert "sync-incremental" in healthy.stdout and "never run" not in healthy.stdout
    assert "auth0-outbox: 0 dead row(s)" in healthy.stdout
    assert "auth0-outbox last error" in healthy.stdout and "503" in healthy.stdout
    assert healthy.stderr == ""
