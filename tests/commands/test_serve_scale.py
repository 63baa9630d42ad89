"""Several `aai serve` processes, each with several workers: one rate limit for all of them,
and metrics that describe the whole server whichever worker answers the scrape."""

from __future__ import annotations

import os
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from aai_cli.services.schema import migrations
from api.routers import utils
from tests.processes import Served

AVAILABILITY = "/utils/register/username-availability"


def _statuses_until_limited(bases: list[str], most: int) -> list[int]:
    """Availability checks sent round-robin to `bases`, each on a new connection (so that
    every worker gets some), until the first 429."""
    statuses: list[int] = []
    while 429 not in statuses and len(statuses) < most:
        base = bases[len(statuses) % len(bases)]
        answer = httpx.get(f"{base}{AVAILABILITY}", params={"username": "someone"}, timeout=10)
        statuses.append(answer.status_code)
    return statuses


@pytest.mark.timeout(300)
def test_a_client_meets_one_limit_across_servers_and_workers(
    empty_db_url: str, tmp_path: Path
) -> None:
    """Two servers of two workers each on one database: the 429 comes at the same count as
    from one process (before, each of the four workers counted on its own)."""
    migrations.upgrade(empty_db_url)
    burst = utils.availability_limit.burst
    with ExitStack() as stack:
        servers = [
            Served(tmp_path, "--workers", "2", env={"DB_URL": empty_db_url}, start_s=150)
            for _ in range(2)
        ]
        for server in servers:
            stack.enter_context(server)
        statuses = _statuses_until_limited([s.base for s in servers], 2 * burst)
    assert statuses == [200] * burst + [429]


def _requests_counted(base: str, route: str) -> float:
    text = httpx.get(f"{base}/metrics/", timeout=10).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "aai_http_requests_total" and sample.labels["route"] == route
    )


@pytest.mark.timeout(300)
def test_metrics_count_every_workers_requests_on_every_scrape(tmp_path: Path) -> None:
    env = {"ENABLE_PROMETHEUS_METRICS": "true"}
    with Served(tmp_path, "--workers", "2", env=env, start_s=150) as served:
        for _ in range(24):
            assert httpx.get(f"{served.base}/readyz", timeout=10).status_code == 200
        counts = [_requests_counted(served.base, "/readyz") for _ in range(8)]
        for _ in range(6):
            httpx.get(f"{served.base}/readyz", timeout=10)
        later = [_requests_counted(served.base, "/readyz") for _ in range(8)]
    assert counts == [24] * 8
    assert later == [30] * 8


def test_a_given_metrics_directory_is_emptied_and_a_made_one_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aai_cli.commands.serve import MULTIPROC_ENV, metrics_directory

    given = tmp_path / "metrics"
    given.mkdir()
    (given / "counter_4242.db").write_bytes(b"an earlier server's counts")
    monkeypatch.setenv(MULTIPROC_ENV, str(given))
    with metrics_directory(enabled=True):
        assert list(given.iterdir()) == []
    monkeypatch.delenv(MULTIPROC_ENV)
    with metrics_directory(enabled=True):
        made = Path(os.environ[MULTIPROC_ENV])
        assert made.is_dir()
    assert not made.exists() and MULTIPROC_ENV not in os.environ
    with metrics_directory(enabled=False):
        assert MULTIPROC_ENV not in os.environ
