"""Job status (health within twice the interval, dead outbox rows) and the cleanup job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from aai_cli.db import session_scope
from aai_cli.models import EmailMessage, JobRun, MembershipEvent, SyncRun, User
from aai_cli.serialize import to_data
from aai_cli.services.scheduler import DailyAt, Every, JobSpec, job_statuses, unhealthy
from aai_cli.services.scheduler.cleanup import prune_runs

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def _noop(ctx) -> None:  # type: ignore[no-untyped-def]
    return None


JOBS = [
    JobSpec("minutely", Every(1), _noop, dead_letters=EmailMessage),
    JobSpec("nightly", DailyAt("02:00"), _noop),
]


def add_run(session, job: str, status: str, ago: timedelta, error: str | None = None) -> None:  # type: ignore[no-untyped-def]
    started = NOW - ago
    session.add(
        JobRun(job=job, status=status, started_at=started, finished_at=started, error=error)
    )


def test_a_job_never_run_is_unhealthy(session) -> None:  # type: ignore[no-untyped-def]
    statuses = job_statuses(session, JOBS, now=NOW)
    assert unhealthy(statuses) == ["minutely", "nightly"]
    minutely = statuses[0]
    assert (minutely.last_run_at, minutely.last_status, minutely.next_run_at) == (None, None, NOW)
    assert minutely.dead_letters == 0 and statuses[1].dead_letters is None
    assert statuses[1].next_run_at == datetime(2026, 3, 11, 2, 0, tzinfo=UTC)


def test_health_is_a_success_within_twice_the_interval(session) -> None:  # type: ignore[no-untyped-def]
    add_run(session, "minutely", "succeeded", timedelta(seconds=119))
    add_run(session, "nightly", "succeeded", timedelta(days=2, seconds=1))
    session.commit()
    statuses = job_statuses(session, JOBS, now=NOW)
    assert [s.healthy for s in statuses] == [True, False]
    assert job_statuses(session, JOBS, now=NOW + timedelta(seconds=2))[0].healthy is False


def test_status_shows_last_run_success_error_next_run_and_dead_rows(session) -> None:  # type: ignore[no-untyped-def]
    add_run(session, "minutely", "succeeded", timedelta(minutes=5))
    add_run(session, "minutely", "failed", timedelta(minutes=1), error="Auth0Unavailable: 503")
    for status in ("dead", "dead", "pending", "sent"):
        session.add(
            EmailMessage(kind="k", to_address="a@b.org", subject="s", body_text="t", status=status)
        )
    session.commit()
    [minutely, _] = job_statuses(session, JOBS, now=NOW)
    assert minutely.last_status == "failed"
    assert minutely.last_run_at == NOW - timedelta(minutes=1)
    assert minutely.last_success_at == NOW - timedelta(minutes=5)
    assert (minutely.last_error, minutely.last_error_at) == (
        "Auth0Unavailable: 503",
        NOW - timedelta(minutes=1),
    )
    assert minutely.next_run_at == NOW
    assert minutely.dead_letters == 2
    assert minutely.healthy is False
    assert to_data(minutely)["job"] == "minutely"


def test_cleanup_prunes_old_runs_but_keeps_the_latest_and_all_membership_events(session) -> None:  # type: ignore[no-untyped-def]
    old, recent = timedelta(days=31), timedelta(days=29)
    add_run(session, "a", "succeeded", old + timedelta(days=2))  # old, not the latest success
    add_run(session, "a", "succeeded", old + timedelta(days=1))  # latest success of a: kept
    add_run(session, "a", "failed", old)  # latest run of a: kept
    add_run(session, "b", "failed", old + timedelta(days=1))  # pruned
    add_run(session, "b", "succeeded", recent)  # recent: kept
    add_run(session, "c", "running", old)  # still running: kept
    for ago in (old, old, recent):
        session.add(SyncRun(job="sync-full", status="succeeded", started_at=NOW - ago))
    session.add(User(id="auth0|old", email="old@example.org"))
    session.flush()
    session.add(
        MembershipEvent(
            user_id="auth0|old",
            platform_id="galaxy",
            to_status="approved",
            actor="system:sync",
            created_at=NOW - timedelta(days=400),
        )
    )
    session.commit()
    with session_scope() as scope:
        counts = prune_runs(scope, retention_days=30, now=NOW)
    assert counts == {"sync_runs_deleted": 2, "job_runs_deleted": 2}
    kept = session.exec(select(JobRun.job, JobRun.status).order_by(JobRun.id)).all()
    assert kept == [("a", "succeeded"), ("a", "failed"), ("b", "succeeded"), ("c", "running")]
    assert session.exec(select(SyncRun.started_at)).all() == [NOW - recent]
    assert len(session.exec(select(MembershipEvent)).all()) == 1
