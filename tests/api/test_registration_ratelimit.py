"""The public routes are rate-limited per client IP, counted in the database (429 with
Retry-After; 503 when the database cannot count)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.routers import registration


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


def test_a_database_that_cannot_count_makes_the_limited_route_503(settings_env):
    """The hit is refused, not let through: the limit runs before the body is looked at
    (with a database, this empty body is a 400)."""
    from api.app import create_app

    settings_env(DB_URL="postgresql://nobody@127.0.0.1:9/none")
    client = TestClient(create_app())
    answer = client.post("/biocommons/register", json={})
    assert answer.status_code == 503
    assert answer.json()["message"] == (
        "the database is unavailable: the rate limit cannot be counted"
    )
