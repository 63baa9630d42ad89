"""Benchmarks of `aai users` on 100,000 users and 200,000 memberships (not in the default run).

    uv run --extra dev pytest -m bench tests/bench/test_bench_users.py -s
    (set AAI_TEST_POSTGRES_URL for the Postgres rows)

Prints a table: list filtered by platform (page of 50 plus the count), and export to a
file in a child process (rows/s and the child's peak RSS, at 10,000 and 100,000 users to
show memory stays constant).
"""

from __future__ import annotations

import os
import resource
import subprocess
import time
from contextlib import ExitStack

import pytest

from aai_cli import db
from tests.bench.directory_data import N_USERS, median_ms, populate, scratch_database
from tests.processes import RUN_AAI

pytestmark = pytest.mark.bench


@pytest.fixture(params=["sqlite", "postgres"])
def big_db(request, tmp_path_factory):  # type: ignore[no-untyped-def]
    sizes = {}
    with ExitStack() as stack:
        for n in (10_000, N_USERS):
            directory = tmp_path_factory.mktemp(f"bench{n}")
            url = stack.enter_context(scratch_database(request.param, directory))
            started = time.perf_counter()
            populate(url, n)
            print(f"\n[{request.param}] {n} users loaded in {time.perf_counter() - started:.1f} s")
            sizes[n] = url
        yield request.param, sizes


def _export_child(url: str, path: str) -> tuple[float, float]:
    """Run `aai users export` in a child process: (seconds, peak RSS in MiB)."""
    env = {**os.environ, "DB_URL": url}
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    command = [*RUN_AAI, "users", "export", "--format", "csv", "--output", path]
    subprocess.run(command, env=env, check=True, capture_output=True)
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert peak >= before
    return elapsed, peak / 1024


def test_bench_users(big_db, tmp_path):
    from aai_cli.services import directory
    from aai_cli.services.directory.query import AdminScope, UserQuery

    backend, sizes = big_db
    url = sizes[N_USERS]
    rows = []
    cases = {
        "list --platform sbp (page 50)": UserQuery(platform="sbp"),
        "list --platform sbp --status pending": UserQuery(
            platform="sbp", platform_status="pending"
        ),
        "list --status revoked --search user12": UserQuery(status="revoked", search="user12"),
    }
    scope = AdminScope(groups=frozenset({"biocommons/group/tsi"}))
    with db.session_scope(url) as session:
        for label, query in cases.items():
            page = median_ms(lambda q=query: directory.list_users(session, q, limit=50))
            count = median_ms(lambda q=query: directory.count_users(session, q))
            rows.append((label, f"{page:.1f} ms", f"count {count:.1f} ms"))
        scoped = median_ms(lambda: directory.list_users(session, UserQuery(), scope=scope))
        rows.append(("list as a TSI admin (page 50)", f"{scoped:.1f} ms", ""))
        assert len(directory.list_users(session, UserQuery(platform="sbp"), limit=50)) == 50
    for n, db_url in sorted(sizes.items()):
        seconds, peak_mib = _export_child(db_url, str(tmp_path / f"export{n}.csv"))
        with open(tmp_path / f"export{n}.csv") as exported:
            lines = sum(1 for _ in exported) - 1
        assert lines == n
        rows.append((f"export {n} users (csv, file)", f"{n / seconds:,.0f} rows/s",
                     f"peak RSS {peak_mib:.0f} MiB"))  # fmt: skip
    print(f"\n{backend}: 100,000 users, 200,000 memberships")
    for label, first, second in rows:
        print(f"  {label:<42} {first:>14}  {second}")
