"""The registered outbox jobs driven by the scheduler and a fake clock: role changes pushed
to the local Auth0 while it answers 5xx and after it recovers; stuck email recovered."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from aai_cli.db import session_scope
from aai_cli.models import EmailMessage, JobRun, RoleChange, Target, User, utcnow
from aai_cli.services import auth0
from aai_cli.services.access.memberships import transition
from aai_cli.services.auth0.transport import RetryPolicy
from aai_cli.services.scheduler import JobScheduler
from aai_cli.services.scheduler import jobs as scheduled_jobs
from aai_cli.settings import get_settings
from tests.services.clock import FakeClock

GALAXY = "biocommons/platform/galaxy"


@pytest.fixture(autouse=True)
def _fresh_gateway():  # type: ignore[no-untyped-def]
    auth0.close_gateway()
    yield
    auth0.close_gateway()


def scheduler_for(job: str, clock: FakeClock, url: str) -> JobScheduler:
    jobs = scheduled_jobs.select_jobs(scheduled_jobs.default_jobs(get_settings()), [job])
    return JobScheduler(jobs, clock=clock, url=url)


def job_counts(job: str) -> list[dict]:
    with session_scope() as session:
        query = select(JobRun).where(JobRun.job == job).order_by(JobRun.id)
        return [run.counts for run in session.exec(query) if run.status == "succeeded"]


def ada_approved_for_galaxy(auth0_env) -> dict:  # type: ignore[no-untyped-def]
    """Ada in the local Auth0 and here, approved for Galaxy: one role change queued."""
    remote = auth0_env.add_user(email="ada@example.org", username="ada")
    with session_scope() as session:
        session.add(User(id=remote["user_id"], email="ada@example.org", username="ada"))
        session.flush()
        transition(
            session,
            user_id=remote["user_id"],
            target=Target("platform", "galaxy"),
            action="approve",
            actor="auth0|admin",
        )
    return remote


def test_role_changes_back_off_while_auth0_fails_then_reach_it(db_url: str, auth0_env) -> None:  # type: ignore[no-untyped-def]
    auth0_env.add_role(GALAXY)
    remote = ada_approved_for_galaxy(auth0_env)
    # one attempt per push: the outbox's own backoff is what is under test
    auth0.get_gateway().policy = RetryPolicy(max_attempts=1, base_delay_s=0.01, max_delay_s=0.01)
    clock = FakeClock(utcnow())
    scheduler = scheduler_for("auth0-outbox", clock, db_url)

    auth0_env.fail_next(3, 503)
    assert [o.status for o in scheduler.run_due()] == ["succeeded"]  # the row failed, not the job
    with session_scope() as session:
        [change] = session.exec(select(RoleChange))
        assert (change.status, change.attempts) == ("pending", 1)
        assert "503" in (change.last_error or "")
    for _ in range(4):  # backoff 30 s, 1 min, 2 min: failures at 1 and 2 min, waits at 3
        clock.advance(minutes=1)
        assert [o.status for o in scheduler.run_pending()] == ["succeeded"]
    assert auth0_env.user_roles(remote["user_id"]) == [GALAXY]
    with session_scope() as session:
        [change] = session.exec(select(RoleChange))
        assert (change.status, change.attempts, change.last_error) == ("done", 4, None)
    # a 5xx that outlasts the gateway's retries is "unavailable": the push stops there
    outcomes = [(c["unavailable"], c["waiting"], c["done"]) for c in job_counts("auth0-outbox")]
    assert outcomes == [(1, 0, 0), (1, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1)]


def test_email_stuck_in_sending_is_delivered_after_its_lease(db_url: str) -> None:
    clock = FakeClock(utcnow())
    with session_scope() as session:
        for minutes in (-1, 5):  # a lease that has passed, one that has not
            session.add(
                EmailMessage(
                    kind="access_approved",
                    to_address=f"lease{minutes}@example.org",
                    subject="s",
                    body_text="t",
                    status="sending",
                    attempts=1,
                    lease_until=clock.now + timedelta(minutes=minutes),
                )
            )
    scheduler = scheduler_for("email-outbox", clock, db_url)

    def states() -> list[tuple[str, str]]:
        with session_scope() as session:
            query = select(EmailMessage.to_address, EmailMessage.status).order_by(EmailMessage.id)
            return list(session.exec(query))

    scheduler.run_due()
    assert states() == [("lease-1@example.org", "sent"), ("lease5@example.org", "sending")]
    for _ in range(6):
        clock.advance(minutes=1)
        scheduler.run_pending()
    assert states() == [("lease-1@example.org", "sent"), ("lease5@example.org", "sent")]
    assert sum(counts["sent"] for counts in job_counts("email-outbox")) == 2


def test_refused_management_credentials_fail_the_push_job_and_spare_the_rows(
    db_url: str, auth0_env, settings_env
) -> None:  # type: ignore[no-untyped-def]
    ada_approved_for_galaxy(auth0_env)
    settings_env(AUTH0_MANAGEMENT_SECRET="s3cr3t-wrong-value")
    scheduler = scheduler_for("auth0-outbox", FakeClock(utcnow()), db_url)

    [outcome] = scheduler.run_due()
    assert outcome.status == "failed"
    assert "Auth0 refused the management client credentials (HTTP 401)" in (outcome.detail or "")
    assert "s3cr3t" not in (outcome.detail or "")
    with session_scope() as session:
        [run] = session.exec(select(JobRun).where(JobRun.job == "auth0-outbox"))
        assert (run.status, run.error) == ("failed", outcome.detail)
        [change] = session.exec(select(RoleChange))
        # not an attempt of the row: it stays due for when the credentials are fixed
        assert (change.status, change.attempts, change.last_error) == ("pending", 0, None)
        assert change.next_attempt_at <= utcnow()
