"""The scheduled sync jobs against the local Auth0: counts recorded, and a manual
`aai sync --now` (holding the "sync" lock) makes the scheduled run a recorded skip."""

from __future__ import annotations

import pytest
from sqlmodel import select

from aai_cli.db import advisory_lock, session_scope
from aai_cli.models import JobRun
from aai_cli.services import auth0
from aai_cli.services.scheduler import jobs as scheduled_jobs
from aai_cli.services.scheduler.runner import run_job
from aai_cli.services.sync.runner import LOCK_NAME
from aai_cli.settings import get_settings
from tests.services.clock import FakeClock
from tests.services.sync_helpers import build_tenant, fast_gateway


@pytest.fixture(autouse=True)
def _fresh_gateway():  # type: ignore[no-untyped-def]
    auth0.close_gateway()
    yield
    auth0.close_gateway()


def spec(name: str):  # type: ignore[no-untyped-def]
    [job] = scheduled_jobs.select_jobs(scheduled_jobs.default_jobs(get_settings()), [name])
    return job


def job_run(name: str) -> JobRun:
    with session_scope() as session:
        [run] = session.exec(select(JobRun).where(JobRun.job == name))
        return run


def test_a_scheduled_sync_records_the_report_counts(db_url: str, auth0_env) -> None:  # type: ignore[no-untyped-def]
    build_tenant(auth0_env, 10)
    fast_gateway()
    outcome = run_job(spec("sync-full"), clock=FakeClock(), url=db_url)
    assert outcome.status == "succeeded", outcome.detail
    run = job_run("sync-full")
    assert run.counts["users"]["created"] == 10
    assert set(run.counts) >= {"users", "memberships", "roles"}


def test_a_manual_sync_holding_the_lock_makes_the_scheduled_one_a_skip(
    db_url: str, auth0_env
) -> None:  # type: ignore[no-untyped-def]
    with advisory_lock(LOCK_NAME, wait=False, url=db_url):
        outcome = run_job(spec("sync-incremental"), clock=FakeClock(), url=db_url)
    assert outcome.status == "succeeded"
    run = job_run("sync-incremental")
    assert (run.status, run.counts, run.error) == ("succeeded", {"skipped": "busy"}, None)
