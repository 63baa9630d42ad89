"""The scheduler driven by a fake clock on both databases: guarded runs, job_runs rows,
per-job locks, once-per-period across replicas, catch-up, the loop and its heartbeat."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from aai_cli.db import advisory_lock, session_scope
from aai_cli.errors import Busy, ConfigError, UsageError
from aai_cli.models import JobRun
from aai_cli.services.scheduler import jobs as scheduled_jobs
from aai_cli.services.scheduler.runner import (
    INTERRUPTED,
    RUNNER,
    DailyAt,
    Every,
    JobContext,
    JobScheduler,
    JobSpec,
    as_counts,
    run_job,
)
from aai_cli.settings import load_settings
from tests.jobs import DEFAULT_JOB_NAMES
from tests.services.clock import START, FakeClock


def counting(name: str, calls: list[str], trigger=None, *, raises: Exception | None = None):  # type: ignore[no-untyped-def]
    def run(ctx: JobContext) -> dict:
        calls.append(f"{ctx.name}@{ctx.now:%H:%M:%S}")
        if raises is not None:
            raise raises
        return {"calls": len(calls)}

    return JobSpec(name, trigger or Every(1), run)


def runs(db_url: str, job: str | None = None) -> list[JobRun]:
    with session_scope(db_url) as session:
        query = select(JobRun).order_by(JobRun.id)
        if job:
            query = query.where(JobRun.job == job)
        return list(session.exec(query))


def test_an_interval_job_runs_when_due_and_records_its_run(db_url: str) -> None:
    clock, calls = FakeClock(), []
    scheduler = JobScheduler([counting("tick", calls)], clock=clock, url=db_url)
    assert scheduler.run_pending() == []
    clock.advance(seconds=59)
    assert scheduler.run_pending() == []
    clock.advance(seconds=1)
    [outcome] = scheduler.run_pending()
    assert (outcome.job, outcome.status) == ("tick", "succeeded")
    [run] = runs(db_url)
    assert (run.job, run.status, run.counts, run.error) == ("tick", "succeeded", {"calls": 1}, None)
    assert run.started_at == START + timedelta(minutes=1) == run.finished_at
    assert scheduler.next_run() == START + timedelta(minutes=2)


def test_a_raising_job_is_recorded_and_neither_stops_the_others_nor_its_schedule(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock, calls = FakeClock(), []
    jobs = [counting("boom", calls, raises=RuntimeError("kaput")), counting("fine", calls)]
    scheduler = JobScheduler(jobs, clock=clock, url=db_url)
    for _ in range(2):
        clock.advance(minutes=1)
        outcomes = scheduler.run_pending()
        assert [(o.job, o.status) for o in outcomes] == [("boom", "failed"), ("fine", "succeeded")]
    assert calls == ["boom@10:01:00", "fine@10:01:00", "boom@10:02:00", "fine@10:02:00"]
    failed = runs(db_url, "boom")
    assert [(r.status, r.error) for r in failed] == [("failed", "RuntimeError: kaput")] * 2
    logged = [r.message for r in caplog.records if r.name == "aai_cli.services.scheduler.runner"]
    assert any("job boom failed: RuntimeError: kaput" in message for message in logged)


def test_busy_inside_a_job_is_recorded_as_a_skip_not_a_failure(db_url: str) -> None:
    clock, calls = FakeClock(), []
    spec = counting("sync-like", calls, raises=Busy("another 'sync' run is in progress"))
    outcome = run_job(spec, clock=clock, url=db_url)
    assert outcome.status == "succeeded"
    [run] = runs(db_url)
    assert (run.status, run.counts, run.error) == ("succeeded", {"skipped": "busy"}, None)


def test_a_job_whose_lock_is_held_elsewhere_is_skipped_without_a_row(db_url: str) -> None:
    calls: list[str] = []
    spec = counting("locked", calls)
    with advisory_lock("job:locked", wait=False, url=db_url):
        outcome = run_job(spec, clock=FakeClock(), url=db_url)
    assert (outcome.status, outcome.detail) == ("skipped", "running elsewhere")
    assert calls == [] and runs(db_url) == []
    assert run_job(spec, clock=FakeClock(), url=db_url).status == "succeeded"


def test_two_replicas_on_one_database_run_a_job_once_per_interval(db_url: str) -> None:
    clock, calls = FakeClock(), []
    spec = counting("outbox", calls)
    first = JobScheduler([spec], clock=clock, url=db_url)
    clock.advance(seconds=30)
    second = JobScheduler([spec], clock=clock, url=db_url)
    statuses = []
    for _ in range(4):
        clock.advance(seconds=30)
        statuses += [o.status for o in first.run_pending() + second.run_pending()]
    assert calls == ["outbox@10:01:00", "outbox@10:02:00"]
    assert statuses == ["succeeded", "skipped", "succeeded", "skipped"]
    assert len(runs(db_url)) == 2


def test_two_replicas_run_each_job_once_per_trigger_for_several_triggers(db_url: str) -> None:
    """Two schedulers started 20 s apart, stepping 10 s at a time for 6 minutes: every
    trigger of each job runs it once, on whichever replica comes first; the other skips."""
    clock, calls = FakeClock(), []
    jobs = [counting("minutely", calls), counting("two-minutely", calls, Every(2))]
    first = JobScheduler(jobs, clock=clock, url=db_url)
    clock.advance(seconds=20)
    second = JobScheduler(jobs, clock=clock, url=db_url)
    skipped = 0
    while clock.now < START + timedelta(minutes=6):
        clock.advance(seconds=10)
        for replica in (first, second):
            skipped += sum(o.status == "skipped" for o in replica.run_pending())
    assert [c for c in calls if c.startswith("minutely")] == [
        f"minutely@10:0{minute}:00" for minute in range(1, 7)
    ]
    assert [c for c in calls if c.startswith("two-")] == [
        "two-minutely@10:02:00",
        "two-minutely@10:04:00",
        "two-minutely@10:06:00",
    ]
    assert skipped == 5 + 2  # each trigger of the second replica (20 s later) in 6 minutes
    assert {(run.status, run.runner) for run in runs(db_url)} == {("succeeded", RUNNER)}


def test_a_daily_job_runs_at_its_utc_time(db_url: str) -> None:
    clock, calls = FakeClock(datetime(2026, 1, 5, 1, 59, tzinfo=UTC)), []
    nightly = counting("nightly", calls, DailyAt("02:00"))
    scheduler = JobScheduler([nightly], clock=clock, url=db_url)
    assert scheduler.next_run() == datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
    clock.advance(seconds=59)
    assert scheduler.run_pending() == []
    clock.advance(seconds=1)
    assert [o.status for o in scheduler.run_pending()] == ["succeeded"]
    assert scheduler.next_run() == datetime(2026, 1, 6, 2, 0, tzinfo=UTC)
    assert runs(db_url)[0].started_at == datetime(2026, 1, 5, 2, 0, tzinfo=UTC)


def test_run_due_runs_each_job_once_per_period_by_the_record(db_url: str) -> None:
    clock, calls = FakeClock(), []
    jobs = [counting("nightly", calls, DailyAt("02:00")), counting("quarter", calls, Every(15))]
    scheduler = JobScheduler(jobs, clock=clock, url=db_url)
    assert [o.status for o in scheduler.run_due()] == ["succeeded", "succeeded"]
    clock.advance(minutes=10)
    skipped = scheduler.run_due()
    assert [(o.status, o.detail) for o in skipped] == [("skipped", "already ran this period")] * 2
    clock.advance(minutes=5)
    assert [o.status for o in scheduler.run_due()] == ["skipped", "succeeded"]
    clock.now = datetime(2026, 1, 6, 2, 0, 1, tzinfo=UTC)
    assert [o.status for o in scheduler.run_due()] == ["succeeded", "succeeded"]
    assert calls == [
        "nightly@10:00:00",
        "quarter@10:00:00",
        "quarter@10:15:00",
        "nightly@02:00:01",
        "quarter@02:00:01",
    ]


def test_a_run_left_running_by_a_killed_process_is_closed_as_interrupted(db_url: str) -> None:
    clock, calls = FakeClock(), []
    with session_scope(db_url) as session:
        session.add(JobRun(job="tick", status="running", started_at=START - timedelta(hours=1)))
    assert run_job(counting("tick", calls), clock=clock, url=db_url).status == "succeeded"
    old, new = runs(db_url)
    assert (old.status, old.error, old.finished_at) == ("failed", INTERRUPTED, START)
    assert new.status == "succeeded"


def test_a_run_cut_short_in_this_period_is_made_up_at_once(db_url: str) -> None:
    """A replacement scheduler catching up runs the job a killed one was running, rather
    than a period later; a run that failed on its own still counts for its period."""
    clock, calls = FakeClock(), []
    nightly = counting("nightly", calls, DailyAt("02:00"))
    with session_scope(db_url) as session:
        session.add(JobRun(job="nightly", status="running", started_at=START - timedelta(hours=8)))
    assert run_job(nightly, clock=clock, url=db_url).status == "succeeded"
    assert [(r.status, r.error) for r in runs(db_url)] == [
        ("failed", INTERRUPTED),
        ("succeeded", None),
    ]
    boom = counting("boom", calls, DailyAt("02:00"), raises=RuntimeError("kaput"))
    assert run_job(boom, clock=clock, url=db_url).status == "failed"
    assert run_job(boom, clock=clock, url=db_url).status == "skipped"


def test_a_job_longer_than_its_interval_logs_a_warning(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()

    def slow(ctx: JobContext) -> None:
        clock.advance(minutes=3)

    caplog.set_level(logging.INFO, logger="aai_cli.services.scheduler.runner")
    run_job(JobSpec("slow", Every(1), slow), clock=clock, url=db_url)
    warnings = [r.message for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["job slow ran for 0:03:00, longer than its interval (0:01:00)"]
    assert runs(db_url)[0].finished_at == START + timedelta(minutes=3)


def test_the_loop_catches_up_runs_jobs_and_logs_a_heartbeat_each_minute(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock, calls = FakeClock(), []
    scheduler = JobScheduler([counting("tick", calls)], clock=clock, url=db_url)

    def fake_sleep(seconds: float) -> None:
        assert 0 <= seconds <= 1
        clock.advance(seconds=max(seconds, 0.25))
        if clock.now >= START + timedelta(minutes=3, seconds=30):
            scheduler.stop.requested = True

    caplog.set_level(logging.DEBUG, logger="aai_cli.services.scheduler.runner")
    scheduler.run_forever(sleep=fake_sleep)
    assert calls == ["tick@10:00:00", "tick@10:01:00", "tick@10:02:00", "tick@10:03:00"]
    heartbeats = [r for r in caplog.records if getattr(r, "heartbeat", False)]
    assert len(heartbeats) == 3 and all(r.levelno == logging.DEBUG for r in heartbeats)


def test_a_stop_during_a_job_finishes_it_and_starts_no_other(db_url: str) -> None:
    clock, calls = FakeClock(), []
    scheduler = JobScheduler([], clock=clock, url=db_url)

    def stopping(ctx: JobContext) -> dict:
        scheduler.stop.requested = True  # as the SIGTERM handler does
        return {"finished": True}

    scheduler = JobScheduler(
        [JobSpec("first", Every(1), stopping), counting("second", calls)], clock=clock, url=db_url
    )
    scheduler.run_forever(sleep=lambda _s: pytest.fail("the loop should have ended"))
    [run] = runs(db_url)
    assert (run.job, run.status, run.counts) == ("first", "succeeded", {"finished": True})
    assert calls == []


def test_the_default_jobs_take_their_triggers_from_settings() -> None:
    settings = load_settings(sync_interval_minutes=5, sync_full_at="04:15", job_retention_days=7)
    jobs = {job.name: job for job in scheduled_jobs.default_jobs(settings)}
    assert list(jobs) == DEFAULT_JOB_NAMES
    assert jobs["sync-incremental"].trigger == Every(5)
    assert jobs["sync-full"].trigger == DailyAt("04:15")
    assert jobs["auth0-outbox"].trigger == jobs["email-outbox"].trigger == Every(1)
    assert "7 days" in jobs["cleanup"].description


def extra() -> list[JobSpec]:
    return [JobSpec("extra", Every(2), lambda ctx: None)]


def duplicate() -> list[JobSpec]:
    return [JobSpec("cleanup", Every(2), lambda ctx: None)]


def test_extra_jobs_are_loaded_and_checked() -> None:
    settings = load_settings()
    names = [j.name for j in scheduled_jobs.registered_jobs(settings, extra=f"{__name__}:extra")]
    assert names[-1] == "extra" and len(names) == 8
    with pytest.raises(ConfigError, match="registered twice: cleanup"):
        scheduled_jobs.registered_jobs(settings, extra=f"{__name__}:duplicate")
    with pytest.raises(ConfigError, match="AAI_SCHEDULE_EXTRA_JOBS"):
        scheduled_jobs.registered_jobs(settings, extra="no_such_module:jobs")


def test_only_selects_jobs_and_refuses_unknown_names() -> None:
    jobs = scheduled_jobs.default_jobs(load_settings())
    assert [j.name for j in scheduled_jobs.select_jobs(jobs, ["cleanup"])] == ["cleanup"]
    with pytest.raises(UsageError, match="unknown job: nope"):
        scheduled_jobs.select_jobs(jobs, ["nope"])


def test_results_become_json_counts() -> None:
    from dataclasses import dataclass

    @dataclass
    class Report:
        created: int
        when: datetime

    assert as_counts(None) == {}
    assert as_counts({"a": 1, "b": {2, 3}}) in ({"a": 1, "b": [2, 3]}, {"a": 1, "b": [3, 2]})
    assert as_counts(Report(2, START)) == {"created": 2, "when": "2026-01-05T10:00:00+00:00"}
    assert as_counts(7) == {"result": 7}
