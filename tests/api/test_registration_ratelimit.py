"""The public routes are rate-limited per client IP (token bucket, 429 + Retry-After)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.ratelimit import TokenBuckets
from api.routers import registration


def test_bucket_allows_a_burst_then_refills():
    now = [0.0]
    buckets = TokenBuckets(per_minute=60, burst=3, clock=lambda: now[0])
    assert [buckets.take("a") for _ in range(3)] == [0, 0, 0]
    assert buckets.take("a") == 1.0  # one token per second
    assert buckets.take("b") == 0  # another client has its own bucket
    now[0] = 0.5
    assert buckets.take("a") == 0.5
    now[0] = 1.0
    assert buckets.take("a") == 0


def test_registration_over_the_limit_is_429_with_retry_after(api):
    for _ in range(registration.limit.burst):
        assert api.client.post("/biocommons/register", json={}).status_code == 400
    limited = api.client.post("/biocommons/register", json={})
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    assert "too many requests" in limited.json()["message"]
    # the limit is per client IP: another address is served
    other = TestClient(api.client.app, client=("203.0.113.9", 4000))
    assert other.post("/sbp/register", json={}).status_code == 400


def test_utils_are_rate_limited(api):
    from api.routers import utils

    statuses = []
    while 429 not in statuses and len(statuses) < 2 * utils.limit.burst:
        response = api.client.get("/utils/username-available", params={"username": "abc"})
        statuses.append(response.status_code)
    assert statuses[: utils.limit.burst] == [200] * utils.limit.burst
    assert statuses[-1] == 429
