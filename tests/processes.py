"""Helpers for tests that run `aai` as a real process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
RUN_AAI = [sys.executable, "-c", "from aai_cli.main import run; run()"]
AAI = str(Path(sys.executable).parent / "aai")  # the installed script, as a container runs it
ISOLATED_PREFIXES = ("DB_", "AUTH0_", "CORS_", "FORWARDED_", "MAX_BODY", "ENABLE_PROMETHEUS")


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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_up(url: str, process: subprocess.Popen, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"aai serve exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)  # the port is not open yet: nothing to await but the bind
    raise AssertionError("aai serve did not come up")


class Served:
    """`aai serve` as a real process on a free port; stderr is collected when it stops."""

    def __init__(
        self, cwd: Path, *args: str, env: dict[str, str] | None = None, start_s: float = 60
    ) -> None:
        self.start_s = start_s  # a busy machine starts each worker in seconds
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        clean = {k: v for k, v in os.environ.items() if not k.startswith(ISOLATED_PREFIXES)}
        self.process = subprocess.Popen(
            [AAI, "serve", "--port", str(self.port), *args],
            cwd=cwd,
            env={**clean, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stderr = ""

    def __enter__(self) -> Served:
        try:
            _wait_until_up(f"{self.base}/healthz", self.process, self.start_s)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        self.process.terminate()
        _, self.stderr = self.process.communicate(timeout=30)
