"""`aai schedule`: run the recurring jobs (the scheduler container), or report on them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from aai_cli.commands import JsonOpt

if TYPE_CHECKING:
    from aai_cli.services.scheduler import JobScheduler, JobSpec, JobStatus

app = typer.Typer(
    help="Run the recurring jobs: sync, the Auth0 and email outboxes, cleanup.",
    invoke_without_command=True,
    no_args_is_help=False,
)


def _jobs(only: list[str] | None) -> list[JobSpec]:
    from aai_cli.services.scheduler import jobs
    from aai_cli.settings import get_settings

    return jobs.select_jobs(jobs.registered_jobs(get_settings()), only)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%d %b %H:%M") if moment else "-"


def _print_statuses(statuses: Sequence[JobStatus]) -> None:
    import sys

    from aai_cli import console

    columns = ["job", "last run", "status", "ran on", "last success", "next run"]
    rows = [
        [
            s.job,
            _when(s.last_run_at),
            s.last_status or "never run",
            s.last_run_by or "-",
            _when(s.last_success_at),
            _when(s.next_run_at),
        ]
        for s in statuses
    ]
    console.print_table(columns, rows, title="scheduled jobs (times in UTC)")
    for s in statuses:
        if s.dead_letters is not None:
            sys.stdout.write(f"{s.job}: {s.dead_letters} dead row(s)\n")
        if s.last_error:
            sys.stdout.write(f"{s.job} last error ({_when(s.last_error_at)}): {s.last_error}\n")


def _log_jobs_at_info() -> None:
    """Job starts and ends are the scheduler's output: show them unless LOG_LEVEL says no."""
    import logging
    import os

    logger = logging.getLogger("aai_cli.services.scheduler.runner")
    if "LOG_LEVEL" not in os.environ and logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)


def _print_jobs(jobs: Sequence[JobSpec], as_json: bool) -> None:
    from aai_cli import console

    rows = [
        {"job": j.name, "trigger": j.trigger.describe(), "description": j.description} for j in jobs
    ]
    if as_json:
        console.print_json(rows)
        return
    console.print_table(
        ["job", "trigger", "description"], [list(r.values()) for r in rows], title="jobs"
    )


def _run_once(runner: JobScheduler, as_json: bool) -> None:
    from aai_cli import console
    from aai_cli.errors import AaiError

    outcomes = runner.run_due()
    if as_json:
        console.print_json(outcomes)
    else:
        for outcome in outcomes:
            detail = f": {outcome.detail}" if outcome.detail else ""
            console.info(f"{outcome.job}: {outcome.status}{detail}")
    failed = [outcome.job for outcome in outcomes if outcome.status == "failed"]
    if failed:
        raise AaiError(f"{len(failed)} job(s) failed: {', '.join(failed)}")


@app.callback(invoke_without_command=True)
def schedule(
    ctx: typer.Context,
    once: Annotated[
        bool,
        typer.Option("--once", help="Run every due job one time, then exit (cron, CI, tests)."),
    ] = False,
    only: Annotated[
        list[str] | None, typer.Option("--only", metavar="JOB", help="Only this job (repeatable).")
    ] = None,
    list_jobs: Annotated[
        bool, typer.Option("--list", help="Print the jobs and their triggers.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="With --list or --once: print JSON.")
    ] = False,
) -> None:
    """Run the scheduler until SIGTERM/SIGINT (the second signal exits at once)."""
    if ctx.invoked_subcommand is not None:
        return
    jobs = _jobs(only)
    if list_jobs:
        _print_jobs(jobs, as_json)
        return
    from aai_cli.services.scheduler import JobScheduler

    _log_jobs_at_info()
    runner = JobScheduler(jobs)
    if once:
        _run_once(runner, as_json)
        return
    with runner.stop.installed():
        runner.run_forever()


@app.command()
def status(as_json: JsonOpt = False) -> None:
    """Per job: last run, last success, next run, last error, dead outbox rows.

    Exits 3 when a job has not succeeded within twice its interval (a health check).
    """
    from aai_cli import console
    from aai_cli.db import session_scope
    from aai_cli.errors import CheckFailed
    from aai_cli.services.scheduler import job_statuses, unhealthy

    jobs = _jobs(None)
    with session_scope(readonly=True) as session:
        statuses = job_statuses(session, jobs)
    if as_json:
        console.print_json(statuses)
    else:
        _print_statuses(statuses)
    late = unhealthy(statuses)
    if late:
        raise CheckFailed(f"not succeeded within twice their interval: {', '.join(late)}")
