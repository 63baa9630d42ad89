"""Throughput of the local Auth0 itself (run: uv run --extra dev pytest -m bench
tests/bench/test_fake_auth0_bench.py -s): a 100,000-user tenant in a child process, one
export round trip, and a checkpoint walk of 5 roles x 20,000 members. The sync benchmark's
figures include these costs, so they are worth knowing."""

from __future__ import annotations

import gzip
import time

import httpx
import pytest

from aai_cli.localauth0.server import spawned

pytestmark = pytest.mark.bench

USERS = 100_000
MEMBERS = 20_000
FIELDS = ["user_id", "email", "email_verified", "username", "name", "blocked", "updated_at"]


def _token(server) -> str:  # type: ignore[no-untyped-def]
    answer = httpx.post(
        f"{server.url}/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": server.client_id,
            "client_secret": server.client_secret,
            "audience": f"https://{server.domain}/api/v2/",
        },
    )
    return answer.json()["access_token"]


def test_fake_auth0_throughput():
    started = time.perf_counter()
    with spawned("--role-members", str(MEMBERS), users=USERS) as server:
        boot_s = time.perf_counter() - started
        headers = {"Authorization": f"Bearer {_token(server)}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=120) as api:
            started = time.perf_counter()
            job = api.post(
                "/api/v2/jobs/users-exports",
                json={"format": "json", "fields": [{"name": f} for f in FIELDS]},
            ).json()
            polls = 0
            while (status := api.get(f"/api/v2/jobs/{job['id']}").json())["status"] != "completed":
                polls += 1
                time.sleep(0.05)
            payload = httpx.get(status["location"], timeout=120).content
            lines = gzip.decompress(payload).count(b"\n")
            export_s = time.perf_counter() - started

            started = time.perf_counter()
            pages = members = 0
            for role in api.get("/api/v2/roles").json():
                cursor = None
                while True:
                    params = {"take": 100, **({"from": cursor} if cursor else {})}
                    body = api.get(f"/api/v2/roles/{role['id']}/users", params=params).json()
                    pages += 1
                    members += len(body["users"])
                    if not (cursor := body.get("next")):
                        break
            walk_s = time.perf_counter() - started
    assert lines == USERS and members == 5 * MEMBERS
    rows = [
        ("start + generate 100k users", f"{boot_s:.1f} s", ""),
        (
            "export round trip",
            f"{export_s:.1f} s",
            f"{len(payload) / 1e6:.1f} MB gz, {polls} polls",
        ),
        ("walk 5 x 20k role members", f"{walk_s:.1f} s", f"{pages / walk_s:.0f} pages/s"),
    ]
    print()
    for name, seconds, note in rows:
        print(f"{name:<32} {seconds:>8}  {note}")
