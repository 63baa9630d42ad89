"""The job scheduler: the recurring jobs, registered in one place, run guarded.

Each job has a trigger (`Every` N minutes, `DailyAt` HH:MM UTC) that says when it falls
due; the scheduler keeps each job's next due time on its own clock (aware UTC, so
`SYNC_FULL_AT` means UTC whatever the host's time zone, and tests drive it with a fake
clock). Every run of a job:
- takes the per-job lock `job:<name>` without waiting (another replica running it: skip);
- under the lock, closes the runs a killed process left `running` (interrupted), then
  skips when a run that was not interrupted already started in the job's current period
  (so two scheduler replicas, or `--once` from cron beside a scheduler, run each job once,
  and a run cut short is made up by the next scheduler at once);
- writes a `job_runs` row (running -> succeeded/failed, counts, error) in its own
  transactions, while the job does its work in its own `session_scope()`;
- never lets an exception escape: a raising job fails its run and falls due again at its
  next trigger, and the loop goes on.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from aai_cli.db import advisory_lock, session_scope
from aai_cli.errors import AaiError, Busy
from aai_cli.models import JobRun, utcnow
from aai_cli.serialize import to_data

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
HEARTBEAT = timedelta(minutes=1)
MAX_SLEEP_S = 1.0
MAX_ERROR_CHARS = 2000
INTERRUPTED = "interrupted: the scheduler stopped during the run"
RUNNER = f"{socket.gethostname()}:{os.getpid()}"  # this scheduler process, on its runs


@dataclass(frozen=True)
class Every:
    """Every N minutes, counted from the scheduler's start."""

    minutes: int

    @property
    def interval(self) -> timedelta:
        return timedelta(minutes=self.minutes)

    def describe(self) -> str:
        return "every minute" if self.minutes == 1 else f"every {self.minutes} minutes"

    def following(self, now: datetime) -> datetime:
        """When the job falls due next, counted from `now` (its start, or its last run)."""
        return now + self.interval

    def period_start(self, now: datetime) -> datetime:
        """A run that started after this instant counts for the current period (with a
        little slack so that a run a few seconds early is not skipped)."""
        return now - self.interval + min(self.interval / 10, timedelta(seconds=30))

    def next_run(self, last_started: datetime | None, now: datetime) -> datetime:
        return last_started + self.interval if last_started else now


@dataclass(frozen=True)
class DailyAt:
    """Once a day at HH:MM UTC."""

    at: str
    interval: ClassVar[timedelta] = timedelta(days=1)

    def describe(self) -> str:
        return f"daily at {self.at} UTC"

    def following(self, now: datetime) -> datetime:
        """The next HH:MM UTC after `now`."""
        return self.period_start(now) + self.interval

    def period_start(self, now: datetime) -> datetime:
        hour, minute = (int(part) for part in self.at.split(":"))
        today = now.astimezone(UTC).replace(hour=hour, minute=minute, second=0, microsecond=0)
        return today if today <= now else today - self.interval

    def next_run(self, last_started: datetime | None, now: datetime) -> datetime:
        return self.period_start(now) + self.interval


Trigger = Every | DailyAt


# --- jobs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobContext:
    name: str
    now: datetime
    url: str | None


@dataclass(frozen=True)
class JobSpec:
    name: str
    trigger: Trigger
    run: Callable[[JobContext], Any]
    description: str = ""
    dead_letters: type | None = None  # the outbox model whose 'dead' rows status shows


# --- one guarded run --------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    job: str
    status: str  # succeeded | failed | skipped
    detail: str | None = None
    run_id: int | None = None


def run_job(spec: JobSpec, *, clock: Clock = utcnow, url: str | None = None) -> Outcome:
    """Run `spec` once if no run started in its current period. Never raises an Exception."""
    try:
        with advisory_lock(f"job:{spec.name}", wait=False, url=url):
            return _run_locked(spec, clock, url)
    except Busy:
        log.info("job %s skipped: running elsewhere", spec.name, extra={"job": spec.name})
        return Outcome(spec.name, "skipped", "running elsewhere")
    except Exception as exc:
        log.error("job %s could not run: %s", spec.name, describe(exc), extra={"job": spec.name})
        return Outcome(spec.name, "failed", describe(exc))


def _run_locked(spec: JobSpec, clock: Clock, url: str | None) -> Outcome:
    started = clock()
    with session_scope(url) as session:
        _close_interrupted(session, spec.name, started)
        last = last_started(session, spec.name)
        if last is not None and last > spec.trigger.period_start(started):
            log.debug("job %s skipped: ran at %s", spec.name, last, extra={"job": spec.name})
            return Outcome(spec.name, "skipped", "already ran this period")
        run = JobRun(job=spec.name, status="running", started_at=started, runner=RUNNER)
        session.add(run)
        session.flush()
        run_id = run.id
    log.info("job %s started", spec.name, extra={"job": spec.name, "run_id": run_id})
    status, counts, error = _call(spec, JobContext(spec.name, started, url))
    finished = clock()
    finish = {"status": status, "counts": counts, "error": error, "finished_at": finished}
    with session_scope(url) as session:
        session.exec(update(JobRun).where(col(JobRun.id) == run_id).values(**finish))
    _log_finish(spec, status, finished - started, run_id, counts)
    return Outcome(spec.name, status, error, run_id)


def _call(spec: JobSpec, ctx: JobContext) -> tuple[str, dict[str, Any], str | None]:
    try:
        result = spec.run(ctx)
    except Busy as exc:
        log.info("job %s skipped: %s", spec.name, exc, extra={"job": spec.name})
        return "succeeded", {"skipped": "busy"}, None
    except AaiError as exc:
        log.error("job %s failed: %s", spec.name, exc, extra={"job": spec.name})
        return "failed", {}, describe(exc)
    except Exception as exc:
        log.exception("job %s failed: %s", spec.name, describe(exc), extra={"job": spec.name})
        return "failed", {}, describe(exc)
    return "succeeded", as_counts(result), None


def _log_finish(
    spec: JobSpec, status: str, took: timedelta, run_id: int | None, counts: dict[str, Any]
) -> None:
    extra = {"job": spec.name, "run_id": run_id, "duration_s": round(took.total_seconds(), 3)}
    log.info("job %s %s in %.1fs %s", spec.name, status, took.total_seconds(), counts, extra=extra)
    if took > spec.trigger.interval:
        log.warning(
            "job %s ran for %s, longer than its interval (%s)",
            spec.name,
            took,
            spec.trigger.interval,
            extra=extra,
        )


def _close_interrupted(session: Session, job: str, now: datetime) -> None:
    """Runs left 'running' while we hold the job's lock were cut short (a killed process).

    A write first, so that on SQLite the transaction holds the write lock before it reads
    (a deferred read-then-write transaction fails at once when another process wrote).
    """
    closed = session.exec(
        update(JobRun)
        .where(col(JobRun.job) == job, col(JobRun.status) == "running")
        .values(status="failed", error=INTERRUPTED, finished_at=now)
    ).rowcount
    if closed:
        log.warning("job %s: %d interrupted run(s) closed", job, closed, extra={"job": job})


def last_started(session: Session, job: str) -> datetime | None:
    """When the job's latest run that counts for its period started. A run cut short by a
    killed process does not count: the next scheduler runs the job again at once (a
    replacement container catching up, say), rather than a period later."""
    return session.exec(
        select(JobRun.started_at)
        .where(
            JobRun.job == job,
            or_(col(JobRun.error).is_(None), col(JobRun.error) != INTERRUPTED),
        )
        .order_by(col(JobRun.started_at).desc())
        .limit(1)
    ).first()


def describe(exc: BaseException) -> str:
    text = str(exc) if isinstance(exc, AaiError) else f"{type(exc).__name__}: {exc}"
    return text[:MAX_ERROR_CHARS]


def as_counts(result: Any) -> dict[str, Any]:
    """A job's result as a JSON-able dict for `job_runs.counts`."""
    if result is None:
        return {}
    if callable(getattr(result, "counts", None)):  # a report that knows its counts
        result = result.counts()
    data = to_data(result)
    return data if isinstance(data, dict) else {"result": data}


# --- the loop ---------------------------------------------------------------------------


class GracefulStop:
    """The first SIGTERM/SIGINT lets the current job finish, then the loop ends; a second
    signal exits at once (status 128 + signal number)."""

    def __init__(self) -> None:
        self.requested = False

    def _handle(self, signum: int, _frame: object) -> None:
        name = signal.Signals(signum).name
        if self.requested:
            log.warning("%s again: exiting at once", name)
            os._exit(128 + signum)
        self.requested = True
        log.info("%s: stopping after the current job", name)

    @contextmanager
    def installed(self) -> Iterator[GracefulStop]:
        signals = (signal.SIGTERM, signal.SIGINT)
        previous = {sig: signal.signal(sig, self._handle) for sig in signals}
        try:
            yield self
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


class JobScheduler:
    """The jobs, each due at its trigger's next time on `clock` (aware UTC datetimes)."""

    def __init__(
        self, jobs: Sequence[JobSpec], *, clock: Clock = utcnow, url: str | None = None
    ) -> None:
        self.jobs = list(jobs)
        self.clock = clock
        self.url = url
        self.stop = GracefulStop()
        started = clock()
        self._due = {spec.name: spec.trigger.following(started) for spec in self.jobs}

    def run_pending(self) -> list[Outcome]:
        """Run the jobs due now, earliest first; each then falls due at its next trigger."""
        now = self.clock()
        due = sorted(
            (spec for spec in self.jobs if self._due[spec.name] <= now),
            key=lambda spec: self._due[spec.name],
        )
        outcomes = []
        for spec in due:
            if self.stop.requested:
                break
            outcomes.append(run_job(spec, clock=self.clock, url=self.url))
            self._due[spec.name] = spec.trigger.following(self.clock())
        return outcomes

    def run_due(self) -> list[Outcome]:
        """Run every job with no run in its current period (`--once`, and at start-up)."""
        outcomes = []
        for spec in self.jobs:
            if self.stop.requested:
                break
            outcomes.append(run_job(spec, clock=self.clock, url=self.url))
        return outcomes

    def next_run(self) -> datetime | None:
        return min(self._due.values(), default=None)

    def seconds_until_next(self) -> float:
        moment = self.next_run()
        return (moment - self.clock()).total_seconds() if moment else MAX_SLEEP_S

    def run_forever(self, *, sleep: Callable[[float], None] = time.sleep) -> None:
        """Catch up on jobs due by the record, then run jobs as they fall due until stopped."""
        log.info("scheduler started: %s", ", ".join(spec.name for spec in self.jobs))
        self.run_due()
        heartbeat_at = self.clock()
        while not self.stop.requested:
            self.run_pending()
            now = self.clock()
            if now - heartbeat_at >= HEARTBEAT:
                heartbeat_at = now
                log.debug("heartbeat: next run at %s", self.next_run(), extra={"heartbeat": True})
            if not self.stop.requested:
                sleep(min(max(self.seconds_until_next(), 0.0), MAX_SLEEP_S))
        log.info("scheduler stopped")
