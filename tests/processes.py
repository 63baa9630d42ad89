"""Helpers for tests that run `aai` as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RUN_AAI = [sys.executable, "-c", "from aai_cli.main import run; run()"]


def spawn_aai(
    *args: str, env: dict[str, str | None] | None = None, stdin: int | None = None
) -> subprocess.Popen[str]:
    """`aai <args>` in a process of its own, with text pipes for stdout and stderr. `env`
    adds to (or, with None, removes from) this process's environment; the repository is
    on the child's path so that it can load test jobs."""
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    for name, value in (env or {}).items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    return subprocess.Popen(
        [*RUN_AAI, *args],
        env=environment,
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@contextmanager
def killed_after(process: subprocess.Popen[str], seconds: float = 60) -> Iterator[None]:
    """A hung process fails the test instead of hanging the suite."""
    timer = threading.Timer(seconds, process.kill)
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        if process.poll() is None:
            process.kill()
        process.wait()
