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


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def exhaust(buckets: TokenBuckets, key: str) -> None:
    while buckets.take(key) == 0:
        pass


def test_a_full_table_never_forgets_an_exhausted_client():
    clock = Clock()
    buckets = TokenBuckets(per_minute=60, burst=2, clock=clock, max_keys=3)
    for key in ("a", "b", "c"):
        exhaust(buckets, key)
    for i in range(100):  # new addresses keep arriving while the table is full and hot
        clock.now += 0.001
        buckets.take(f"new-{i}")
    for key in ("a", "b", "c"):
        assert buckets.take(key) > 0, key  # still limited: not forgotten, not reset


def test_clients_the_full_table_cannot_hold_share_one_bucket():
    clock = Clock()
    buckets = TokenBuckets(per_minute=60, burst=2, clock=clock, max_keys=2)
    buckets.take("a")
    buckets.take("b")
    assert buckets.take("x") == 0
    assert buckets.take("y") == 0
    assert buckets.take("z") == 1.0  # the shared bucket is spent: one token a second


def test_idle_clients_make_room_and_hot_ones_stay():
    clock = Clock()
    buckets = TokenBuckets(per_minute=60, burst=2, clock=clock, max_keys=2)
    buckets.take("idle")  # refilled after 1 s; whole again after 2 s
    clock.now = 1.5
    exhaust(buckets, "hot")
    clock.now = 2.0  # "idle" is full again, "hot" has half a token
    assert buckets.take("newcomer") == 0
    assert buckets.take("newcomer") == 0  # its own bucket of two, not the shared one
    assert buckets.take("hot") == 0.5  # kept: still limited
    assert buckets.take("idle") == 0  # forgotten (nothing lost: its bucket was full)


def test_a_client_that_spent_the_shared_bucket_does_not_start_afresh():
    clock = Clock()
    buckets = TokenBuckets(per_minute=60, burst=2, clock=clock, max_keys=1)
    buckets.take("a")
    clock.now = 1.0
    exhaust(buckets, "x")  # the table is full and "a" is hot: x spends the shared bucket
    clock.now = 2.0  # "a" is idle now, so x gets a bucket of its own...
    assert buckets.take("x") == 0
    assert buckets.take("x") == 1.0  # ...holding what the shared one had (1 s of refill)


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


def _until_limited(client, path, params, most):  # type: ignore[no-untyped-def]
    statuses = []
    while 429 not in statuses and len(statuses) < most:
        statuses.append(client.get(path, params=params).status_code)
    return statuses


def test_availability_is_rate_limited_per_client_across_its_paths(api):
    """Old and new paths share one bucket: the aliases do not double the rate."""
    from api.routers import utils

    burst = utils.availability_limit.burst
    paths = [
        ("/utils/username-available", {"username": "abc"}),
        ("/utils/register/username-availability", {"username": "abc"}),
        ("/utils/email-available", {"email": "a@uni.edu.au"}),
        ("/utils/register/email-availability", {"email": "a@uni.edu.au"}),
    ]
    statuses = [api.client.get(p, params=q).status_code for p, q in paths * (burst // 4)]
    assert statuses == [200] * burst
    for path, params in paths:
        limited = api.client.get(path, params=params)
        assert limited.status_code == 429
        assert int(limited.headers["Retry-After"]) >= 1
    other = TestClient(api.client.app, client=("203.0.113.7", 4000))
    assert other.get(paths[0][0], params=paths[0][1]).status_code == 200


def test_the_other_utils_are_rate_limited_per_client(api, institution_env):
    from api.routers import utils

    burst = utils.limit.burst
    check = "/utils/register/check-australian-research-institution"
    statuses = _until_limited(api.client, check, {"email": "a@uni.edu.au"}, 2 * burst)
    assert statuses[:burst] == [200] * burst and statuses[-1] == 429
    # a limited call never reaches the validation service
    assert len(institution_env.requests) == statuses.count(200)
    info = TestClient(api.client.app, client=("203.0.113.8", 4000))
    path = "/utils/register/registration-info"
    statuses = _until_limited(info, path, {"email": "a@b.org"}, 2 * burst)
    assert statuses[:burst] == [200] * burst and statuses[-1] == 429
