"""`aai serve`: migrates the embedded default, refuses a database behind head, serves."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from aai_cli.main import app
from aai_cli.settings import get_settings

AAI = str(Path(sys.executable).parent / "aai")


def aai(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args))


def test_refuses_a_database_behind_head(empty_db_url):
    result = aai("serve", "--port", "1")
    assert result.exit_code == 3, result.output
    assert "aai db upgrade" in result.stderr
    assert result.stdout == ""


def test_refuses_cors_star(empty_db_url, monkeypatch):
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", "*")
    get_settings.cache_clear()
    result = aai("serve")
    assert result.exit_code == 6
    assert "CORS_ALLOWED_ORIGINS" in result.stderr


def test_reload_with_workers_is_a_usage_error():
    result = aai("serve", "--reload", "--workers", "2")
    assert result.exit_code == 2
    assert "--reload" in result.stderr


def test_unreachable_database_is_exit_5(monkeypatch):
    monkeypatch.setenv("DB_URL", "postgresql://nobody@127.0.0.1:9/none")
    get_settings.cache_clear()
    result = aai("serve")
    assert result.exit_code == 5, result.output


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


@pytest.mark.timeout(120)
def test_fresh_checkout_just_works(tmp_path):
    """On the embedded default: migrate, seed, serve; JSON access logs with LOG_FORMAT=json."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "AUTH0_", "CORS_"))}
    env["LOG_FORMAT"] = "json"
    process = subprocess.Popen(
        [AAI, "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_up(f"{base}/healthz", process)
        assert httpx.get(f"{base}/readyz").status_code == 200
        no_auth = httpx.get(f"{base}/me/profile", headers={"Authorization": "Bearer a.b.c"})
        assert no_auth.status_code == 503  # AUTH0_AUDIENCE is not set
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    assert (tmp_path / "database.db").exists()
    records = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    access = [r for r in records if r.get("logger") == "aai.access"]
    assert {r["path"] for r in access} >= {"/healthz", "/readyz", "/me/profile"}
    assert all(r["status"] in (200, 503) for r in access)
