"""`aai schedule` as real processes: SIGTERM during a job, a second signal, JSON logs, two
schedulers against one database running each job once, and one killed mid-job.

The subprocesses load a test job through `AAI_SCHEDULE_EXTRA_JOBS` (the scheduler's plugin
hook, so the real command and loop run unchanged): `held` announces itself on stdout and
waits for a line on stdin, so the test decides exactly when it ends without any sleep.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import select

from aai_cli.db import session_scope
from aai_cli.models import JobRun
from aai_cli.services.scheduler import Every, JobContext, JobSpec
from aai_cli.services.scheduler.runner import INTERRUPTED
from tests.cli import aai as cli
from tests.jobs import DEFAULT_JOB_NAMES
from tests.processes import killed_after, spawn_aai

COUNTER_ENV = "AAI_TEST_SCHEDULE_COUNTER"


def held(ctx: JobContext) -> dict:
    sys.stdout.write("job started\n")
    sys.stdout.flush()
    return {"released_with": sys.stdin.readline().strip()}


def counted(ctx: JobContext) -> None:
    with open(os.environ[COUNTER_ENV], "a") as counter:
        counter.write(f"{os.getpid()}\n")


def test_jobs() -> list[JobSpec]:
    return [JobSpec("held", Every(1), held), JobSpec("counted", Every(1), counted)]


test_jobs.__test__ = False  # type: ignore[attr-defined]


def aai(*args: str, stdin: int = subprocess.PIPE, **env: str) -> subprocess.Popen[str]:
    return spawn_aai(
        *args, env={"AAI_SCHEDULE_EXTRA_JOBS": f"{__name__}:test_jobs", **env}, stdin=stdin
    )


def read_logs_until(process: subprocess.Popen[str], text: str) -> list[dict]:
    """JSON log lines from stderr up to the first whose message contains `text`."""
    assert process.stderr is not None
    lines = []
    for line in process.stderr:
        lines.append(json.loads(line))
        if text in lines[-1]["message"]:
            return lines
    pytest.fail(f"the scheduler exited before logging {text!r}: {lines}")


def start_held_job(db_url: str) -> subprocess.Popen[str]:
    process = aai("schedule", "--only", "held", DB_URL=db_url, LOG_FORMAT="json")
    assert process.stdout is not None
    assert process.stdout.readline() == "job started\n"
    return process


def held_runs() -> list[JobRun]:
    with session_scope() as session:
        return list(session.exec(select(JobRun).where(JobRun.job == "held")))


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_sigterm_during_a_job_lets_it_finish_then_exits_0(db_url: str) -> None:
    process = start_held_job(db_url)
    with killed_after(process):
        process.send_signal(signal.SIGTERM)
        logs = read_logs_until(process, "stopping after the current job")
        assert process.poll() is None  # still finishing the job
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
        assert process.wait(timeout=20) == 0
        logs += [json.loads(line) for line in process.stderr or []]
    [run] = held_runs()
    assert (run.status, run.counts) == ("succeeded", {"released_with": "go"})
    messages = [entry["message"] for entry in logs]
    assert messages[0] == "scheduler started: held"
    assert "job held succeeded" in " ".join(messages)
    assert messages[-1] == "scheduler stopped"
    assert {"job": "held", "level": "info"}.items() <= logs[1].items()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_second_signal_exits_at_once(db_url: str) -> None:
    process = start_held_job(db_url)
    with killed_after(process):
        process.send_signal(signal.SIGTERM)
        read_logs_until(process, "stopping after the current job")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 128 + signal.SIGTERM
    [run] = held_runs()
    assert run.status == "running"  # closed as interrupted by the job's next run


def test_two_schedulers_on_one_database_run_each_job_once(db_url: str, tmp_path: Path) -> None:
    counter = tmp_path / "counted.txt"
    env = {"DB_URL": db_url, COUNTER_ENV: str(counter)}
    # With stdin at end of file, `held` returns at once.
    processes = [
        aai("schedule", "--once", "--json", stdin=subprocess.DEVNULL, **env) for _ in range(2)
    ]
    outcomes = []
    for process in processes:
        with killed_after(process):
            stdout, stderr = process.communicate(timeout=60)
        assert process.returncode in (0, 1), stderr
        assert "Traceback" not in stderr
        outcomes += json.loads(stdout.replace("job started\n", ""))  # `held` says so
    with session_scope() as session:
        jobs = session.exec(select(JobRun.job)).all()
        runners = set(session.exec(select(JobRun.runner)).all())
    names = DEFAULT_JOB_NAMES
    host = socket.gethostname()
    assert runners <= {f"{host}:{process.pid}" for process in processes}  # status shows it
    assert sorted(jobs) == sorted([*names, "held", "counted"]), outcomes
    assert len(counter.read_text().splitlines()) == 1
    ran = [o["job"] for o in outcomes if o["status"] != "skipped"]
    assert sorted(ran) == sorted(jobs), outcomes


def test_a_scheduler_killed_mid_job_is_made_up_by_the_next_one(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replica killed outright (its lock goes with its connection or file) leaves its run
    `running`; the next scheduler closes it as interrupted and runs the job again at once,
    and `schedule status` shows which process ran what."""
    first = start_held_job(db_url)
    with killed_after(first):
        first.kill()
    second = aai("schedule", "--once", "--only", "held", stdin=subprocess.DEVNULL, DB_URL=db_url)
    with killed_after(second):
        _, stderr = second.communicate(timeout=60)
    assert second.returncode == 0, stderr
    host = socket.gethostname()
    assert [(r.status, r.error, r.runner) for r in held_runs()] == [
        ("failed", INTERRUPTED, f"{host}:{first.pid}"),
        ("succeeded", None, f"{host}:{second.pid}"),
    ]
    monkeypatch.setenv("AAI_SCHEDULE_EXTRA_JOBS", f"{__name__}:test_jobs")
    [held_status] = [
        s for s in json.loads(cli("schedule", "status", "--json").stdout) if s["job"] == "held"
    ]
    assert (held_status["last_status"], held_status["last_run_by"]) == (
        "succeeded",
        f"{host}:{second.pid}",
    )
    assert held_status["last_error"] == INTERRUPTED
