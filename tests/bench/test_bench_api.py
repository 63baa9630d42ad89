"""Benchmarks of the portal API on 100,000 users and 200,000 memberships (not in the default run).

    uv run --extra dev pytest -m bench tests/bench/test_bench_api.py -s
    (set AAI_TEST_POSTGRES_URL for the Postgres rows)

Prints a table: in-process medians of GET /admin/users (per_page 50, filter combinations,
as a super-admin and as a scoped admin), /admin/users/pages and /admin/users/counts, and
GET /me/profile, then the sustained
throughput of GET /me/platforms over HTTP on loopback against `aai serve --workers 2`
(wrk when installed, else a bounded httpx loop).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.bench.directory_data import N_USERS, median_ms, populate, scratch_database

pytestmark = pytest.mark.bench

SUPER = "biocommons/role/biocommons/admin"
SCOPED = ["biocommons/role/sbp/admin", "biocommons/role/tsi/admin"]
ME = "auth0|00012345"
LIST_CASES = {
    "no filter": {},
    "approval_status=pending": {"approval_status": "pending"},
    "approval_status=revoked&filter_by=galaxy": {
        "approval_status": "revoked",
        "filter_by": "galaxy",
    },
    "filter_by=tsi&email_verified=false": {"filter_by": "tsi", "email_verified": "false"},
    "platform=sbp": {"platform": "sbp"},
    "platform=sbp&platform_approval_status=pending": {
        "platform": "sbp",
        "platform_approval_status": "pending",
    },
    "group=tsi&group_approval_status=approved": {
        "group": "biocommons/group/tsi",
        "group_approval_status": "approved",
    },
    "platform_approval_status=revoked": {"platform_approval_status": "revoked"},
    "platform=galaxy&group=tsi&email_verified=false": {
        "platform": "galaxy",
        "group": "biocommons/group/tsi",
        "email_verified": "false",
    },
    "search=user1234&email_verified=true": {"search": "user1234", "email_verified": "true"},
    "search=9 (matches 41%)": {"search": "9"},
    "page=500": {"page": 500},
}
# Outside the budget (it names filters): other sort keys than the default order.
SORT_CASES = {
    "sort=created_at": {"sort": "created_at"},
    "sort=email": {"sort": "email"},
    "sort=-updated_at": {"sort": "-updated_at"},
}
# /admin/users/pages takes the list's filters; the portal asks with no filter and with
# each list page's own.
PAGES_CASES = {
    "no filter": {},
    "approval_status=pending": {"approval_status": "pending"},
    "search=user1234": {"search": "user1234"},
}
AAI = str(Path(sys.executable).parent / "aai")
LOAD_SECONDS = 10


@pytest.fixture(params=["sqlite", "postgres"])
def big_db(request, tmp_path_factory, settings_env):  # type: ignore[no-untyped-def]
    from aai_cli.services.schema import migrations

    with scratch_database(request.param, tmp_path_factory.mktemp("bench")) as url:
        started = time.perf_counter()
        migrations.upgrade(url)  # migrated, so that `aai serve` accepts it
        populate(url, N_USERS)
        elapsed = time.perf_counter() - started
        print(f"\n[{request.param}] {N_USERS} users loaded in {elapsed:.1f} s")
        settings_env(DB_URL=url)
        yield request.param, url


def _median_ms(fn, runs: int = 15) -> float:  # type: ignore[no-untyped-def]
    return median_ms(fn, runs, warmups=3)


def _get(client: TestClient, path: str, token: str, **params):  # type: ignore[no-untyped-def]
    response = client.get(path, params=params, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return response


def _in_process(fake) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    from api.app import create_app

    rows = []
    # One client for the whole run: without the context manager, TestClient starts a
    # portal thread per request (about 5 ms that the app never spends).
    with TestClient(create_app()) as client:
        tokens = {"super": fake.mint_token("auth0|admin", roles=[SUPER])}
        tokens["scoped"] = fake.mint_token("auth0|admin2", roles=SCOPED)
        for who, token in tokens.items():
            for label, params in {**LIST_CASES, **SORT_CASES}.items():
                ms = _median_ms(lambda t=token, p=params: _get(client, "/admin/users", t, **p))
                rows.append((f"GET /admin/users {label} ({who})", f"{ms:.1f} ms median"))
        for who, token in tokens.items():
            for label, params in PAGES_CASES.items():
                ms = _median_ms(
                    lambda t=token, p=params: _get(client, "/admin/users/pages", t, **p)
                )
                rows.append((f"GET /admin/users/pages {label} ({who})", f"{ms:.1f} ms median"))
            ms = _median_ms(lambda t=token: _get(client, "/admin/users/counts", t))
            rows.append((f"GET /admin/users/counts ({who})", f"{ms:.1f} ms median"))
        page = _get(client, "/admin/users", tokens["super"], platform="sbp").json()
        pages = _get(client, "/admin/users/pages", tokens["super"], platform="sbp").json()
        assert len(page) == 50 and pages["total"] > 10_000
        me = fake.mint_token(ME)
        ms = _median_ms(lambda: _get(client, "/me/profile", me), runs=200)
        rows.append(("GET /me/profile", f"{ms:.2f} ms median"))
        assert _get(client, "/me/profile", me).json()["platform_memberships"]
    return rows


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(url: str, port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "DB_URL": url, "LOG_LEVEL": "WARNING"}
    process = subprocess.Popen(
        [AAI, "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.terminate()
    raise AssertionError("aai serve did not come up")


def _wrk(url: str, token: str) -> tuple[str, float]:
    result = subprocess.run(
        ["wrk", "-t2", "-c16", f"-d{LOAD_SECONDS}s", "-H", f"Authorization: Bearer {token}", url],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Non-2xx" not in result.stdout, result.stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", result.stdout)
    assert match, result.stdout
    return "wrk -t2 -c16", float(match.group(1))


def _httpx_loop(url: str, token: str, threads: int = 8) -> tuple[str, float]:
    done = [0] * threads
    stop = time.monotonic() + LOAD_SECONDS

    def worker(i: int) -> None:
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}) as client:
            while time.monotonic() < stop:
                assert client.get(url).status_code == 200
                done[i] += 1

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return f"httpx, {threads} threads", sum(done) / LOAD_SECONDS


def _throughput(url: str, fake, log: Path) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    port = _free_port()
    process = _serve(url, port, log)
    try:
        target = f"http://127.0.0.1:{port}/me/platforms"
        token = fake.mint_token(ME)
        assert httpx.get(target, headers={"Authorization": f"Bearer {token}"}).status_code == 200
        tool, rps = _wrk(target, token) if shutil.which("wrk") else _httpx_loop(target, token)
    except BaseException:
        print(f"aai serve's log:\n{log.read_text()[-4000:]}")  # what went wrong, if it says
        raise
    finally:
        process.terminate()
        process.wait(timeout=30)
    return f"GET /me/platforms over HTTP, 2 workers ({tool})", f"{rps:,.0f} req/s"


@pytest.mark.timeout(3600)
def test_bench_api(big_db, auth0_env, settings_env, tmp_path):
    backend, url = big_db
    settings_env(ADMIN_ROLES=f'["{SUPER}"]')
    rows = _in_process(auth0_env)
    rows.append(_throughput(url, auth0_env, tmp_path / "serve.log"))
    print(f"\n{backend}: {N_USERS:,} users, 200,000 memberships")
    for label, value in rows:
        print(f"  {label:<70} {value:>16}")
