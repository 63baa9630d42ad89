"""What the shared rate limit adds to a request (not in the default run).

    uv run --extra dev pytest -m bench tests/bench/test_bench_ratelimit.py -s
    (set AAI_TEST_POSTGRES_URL for the Postgres row)

In-process medians through the whole app with one `TestClient`: the availability check
as it is (its limit counted in the database) and the same route with the limit replaced
by a no-op, interleaved so that both see the same machine; then the counter's upsert
alone (`ratelimits.hit`), the statement with its round trip.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aai_cli.services import ratelimits
from aai_cli.services.schema import migrations
from api.ratelimit import RateLimit
from api.routers import utils
from tests.bench.directory_data import median_ms, scratch_database

pytestmark = pytest.mark.bench

RUNS = 300
BATCHES = 20  # of RUNS // 10 requests each, limited and unlimited in turn
PATH = "/utils/register/username-availability"
ROOMY = RateLimit("bench", per_minute=10**9, burst=10**9)  # counted, never refused


@pytest.fixture(params=["sqlite", "postgres"])
def bench_url(request, tmp_path: Path, settings_env) -> Iterator[str]:  # type: ignore[no-untyped-def]
    with scratch_database(request.param, tmp_path) as url:
        migrations.upgrade(url)
        settings_env(DB_URL=url)
        yield url


async def _unlimited() -> None:
    return None


def _median(client: TestClient, limit: object) -> float:
    """The median of a batch of availability checks with `limit` as the route's limit."""
    client.app.dependency_overrides = {utils.availability_limit: limit}  # type: ignore[attr-defined]

    def request() -> None:
        assert client.get(PATH, params={"username": "someone"}).status_code == 200

    return median_ms(request, runs=RUNS // 10, warmups=0)


def _middle(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def test_bench_the_added_latency_of_a_limited_request(bench_url: str) -> None:
    from api.app import create_app

    client = TestClient(create_app())
    _median(client, ROOMY)  # warm up: connections, statements
    batches = [(_median(client, ROOMY), _median(client, _unlimited)) for _ in range(BATCHES)]
    limit = ratelimits.Limit("bench-direct", per_minute=10**9, burst=10**9)
    hit_ms = median_ms(lambda: ratelimits.hit(limit, "k", url=bench_url), runs=RUNS)
    backend = "SQLite" if bench_url.startswith("sqlite") else "Postgres"
    lim, unl = (_middle([batch[i] for batch in batches]) for i in range(2))
    print(
        f"\n{backend}: limited {lim:.2f} ms, unlimited {unl:.2f} ms, added {lim - unl:.2f} ms;"
        f" the counter alone {hit_ms:.3f} ms"
    )
