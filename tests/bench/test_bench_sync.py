"""Benchmark of `aai sync` against the local Auth0 in a child process (marker `bench`).

    uv run --extra dev pytest -m bench tests/bench/test_bench_sync.py -s
    AAI_BENCH_SYNC_SIZES=100000 AAI_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1/postgres \
        uv run --extra dev pytest -m bench tests/bench/test_bench_sync.py -s

Each (database, tenant size) runs in its own process, so peak RSS is the sync's alone (the
local Auth0 runs in another child). Tenant: N users, the five access roles with N/5
members each. Scenarios: a full sync into an empty database, a re-run with nothing
changed (incremental users + the membership walk), a forced full re-run, an incremental
users run after 100 users changed in Auth0, and the same as a whole `sync --now`.
Prints users/s, Management API requests, peak RSS and durations; budgets are in docs/benchmarks.md.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time

import pytest

from aai_cli.localauth0.runner import spawned
from aai_cli.serialize import to_data

pytestmark = pytest.mark.bench
SIZES = [int(s) for s in os.environ.get("AAI_BENCH_SYNC_SIZES", "25000,100000").split(",")]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(label: str, results: dict, **kwargs) -> object:  # type: ignore[no-untyped-def]
    from aai_cli.services.sync import run_sync

    started = time.perf_counter()
    report = run_sync(**kwargs)
    results[label] = {
        "s": round(time.perf_counter() - started, 2),
        "requests": report.auth0_requests,
        "users": to_data(report.users),
        "memberships": to_data(report.memberships),
        "rss_mb": round(_peak_rss_mb(), 1),
    }
    return report


def scenarios(users: int) -> dict:
    """Run every scenario in this process (DB_URL and AUTH0_* set by the caller)."""
    from sqlalchemy import select

    from aai_cli import db
    from aai_cli.models import User, metadata
    from aai_cli.services.access.catalog import seed_catalog
    from aai_cli.services.auth0 import get_gateway
    from aai_cli.settings import get_settings

    metadata.create_all(db.get_engine())
    with db.session_scope() as session:
        seed_catalog(session)
    results: dict = {"users": users, "rss_start_mb": round(_peak_rss_mb(), 1)}
    full = _timed("full_empty", results, mode="full")
    assert full.users.created == users, to_data(full.users)
    _timed("rerun_unchanged", results)  # the walk was just done: deferred
    os.environ["SYNC_MEMBERSHIPS_EVERY_MINUTES"] = "0"
    get_settings.cache_clear()
    _timed("rerun_unchanged_walk", results)  # incremental users + the role-member walk
    os.environ.pop("SYNC_MEMBERSHIPS_EVERY_MINUTES")
    get_settings.cache_clear()
    _timed("full_rerun_unchanged", results, mode="full")
    with db.session_scope() as session:
        changed = list(session.execute(select(User.id).limit(100)).scalars())
    client = get_gateway()._client
    for user_id in changed:
        client.users.update(user_id, name="Changed for the benchmark")
    report = _timed("incremental_users_100", results, mode="incremental", steps=("users",))
    assert report.users.updated == 100, to_data(report.users)
    for user_id in changed:
        client.users.update(user_id, name="Changed again")
    _timed("incremental_now_100", results, mode="incremental")
    return results


def _run_child(users: int, db_url: str, env: dict[str, str]) -> dict:
    child_env = {**os.environ, **env, "DB_URL": db_url, "AUTH0_MAX_RPS": "10000"}
    out = subprocess.run(
        [sys.executable, "-m", "tests.bench.test_bench_sync", str(users)],
        env=child_env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-4000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def _table(backend: str, result: dict) -> str:
    n = result["users"]
    lines = [f"\n{backend}, {n} users, 5 roles x {n // 5} members"]
    lines.append(
        f"{'scenario':<24}{'seconds':>9}{'users/s':>10}{'requests':>10}{'peak RSS MB':>13}"
    )
    for key in (
        "full_empty",
        "rerun_unchanged",
        "rerun_unchanged_walk",
        "full_rerun_unchanged",
        "incremental_users_100",
        "incremental_now_100",
    ):
        row = result[key]
        rate = f"{n / row['s']:.0f}" if key.startswith("full") else "-"
        lines.append(f"{key:<24}{row['s']:>9}{rate:>10}{row['requests']:>10}{row['rss_mb']:>13}")
    return "\n".join(lines)


@pytest.mark.parametrize("users", SIZES)
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_bench_sync(backend: str, users: int, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import create_postgres_database, drop_postgres_database

    if backend == "sqlite":
        db_url = f"sqlite:///{tmp_path / 'bench.db'}"
    else:
        db_url = create_postgres_database()  # skips without AAI_TEST_POSTGRES_URL
    try:
        with spawned("--role-members", str(users // 5), users=users) as fake:
            result = _run_child(users, db_url, fake.env())
    finally:
        if backend == "postgres":
            drop_postgres_database(db_url)
    print(_table(backend, result))
    print(json.dumps({"backend": backend, **result}))
    assert result["incremental_users_100"]["requests"] < 20


if __name__ == "__main__":
    print(json.dumps(scenarios(int(sys.argv[1]))))
