"""Helpers for tests that run `aai` as a real process."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


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
