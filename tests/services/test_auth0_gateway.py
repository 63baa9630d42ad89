"""The Auth0 gateway against the local Auth0 server (the real SDK over the wire)."""

from __future__ import annotations

import gzip
import time
from datetime import UTC, datetime, timedelta

import pytest

from aai_cli.errors import Auth0Error, Auth0Unavailable, ConfigError, Conflict
from aai_cli.services import auth0
from aai_cli.services.auth0.models import parse_export
from aai_cli.services.auth0.transport import RetryPolicy

pytestmark = pytest.mark.usefixtures("fresh_gateway")


@pytest.fixture
def gateway(auth0_env) -> auth0.Auth0Gateway:  # type: ignore[no-untyped-def]
    gw = auth0.get_gateway()
    gw.policy = RetryPolicy(max_attempts=6, base_delay_s=0.01, max_delay_s=0.05)
    return gw


def token_requests(fake) -> int:  # type: ignore[no-untyped-def]
    return len(fake.requests_to("/oauth/token", "POST"))


def test_missing_configuration_names_the_variables() -> None:
    with pytest.raises(ConfigError) as caught:
        auth0.get_gateway()
    message = str(caught.value)
    for name in ("AUTH0_DOMAIN", "AUTH0_MANAGEMENT_ID", "AUTH0_MANAGEMENT_SECRET"):
        assert name in message
    assert caught.value.exit_code == 6


def test_one_gateway_per_process_rebuilt_when_settings_change(auth0_env, settings_env) -> None:
    first = auth0.get_gateway()
    assert auth0.get_gateway() is first
    settings_env(AUTH0_MAX_RPS="500")
    assert auth0.get_gateway() is not first


def test_wrong_secret_is_a_config_error_without_the_secret(auth0_env, settings_env) -> None:
    settings_env(AUTH0_MANAGEMENT_SECRET="s3cr3t-wrong-value")
    with pytest.raises(ConfigError) as caught:
        auth0.get_gateway().list_roles()
    assert "AUTH0_MANAGEMENT_SECRET" in str(caught.value)
    assert "s3cr3t" not in str(caught.value)


def test_token_is_cached_and_reused(gateway, auth0_env) -> None:
    user = auth0_env.add_user(email="ada@example.org", username="ada")
    for _ in range(5):
        assert gateway.get_user(user["user_id"]) is not None
    assert token_requests(auth0_env) == 1


def test_token_refreshed_before_expiry(gateway, auth0_env) -> None:
    auth0_env.token_expires_in = 3600
    gateway.list_roles()
    gateway.token.clock = lambda: time.monotonic() + 3600 - 300  # inside the margin
    gateway.list_roles()
    assert token_requests(auth0_env) == 2


def test_token_refreshed_once_on_401(gateway, auth0_env) -> None:
    gateway.list_roles()
    auth0_env.invalidate_tokens()
    # a token minted in the same second with the same claims would be the same string
    auth0_env.token_expires_in += 1
    gateway.list_roles()
    assert token_requests(auth0_env) == 2


def test_get_user_is_typed_and_404_is_none(gateway, auth0_env) -> None:
    created = auth0_env.add_user(email="ada@example.org", username="ada", blocked=True)
    user = gateway.get_user(created["user_id"])
    assert user is not None
    assert (user.user_id, user.email, user.username, user.blocked) == (
        created["user_id"],
        "ada@example.org",
        "ada",
        True,
    )
    assert user.updated_at is not None and user.updated_at.tzinfo is not None
    assert gateway.get_user("auth0|doesnotexist") is None


def test_users_by_email(gateway, auth0_env) -> None:
    auth0_env.add_user(email="ada@example.org", username="ada")
    auth0_env.add_user(email="ada@example.org", connection="google-oauth2")
    found = gateway.users_by_email("ada@example.org")
    assert len(found) == 2
    assert {u.username for u in found} == {"ada", None}


def test_create_user_conflict_is_not_retried(gateway, auth0_env) -> None:
    gateway.create_user(email="ada@example.org", password="Pa55word!x", username="ada")
    with pytest.raises(Conflict):
        gateway.create_user(email="ada@example.org", password="Pa55word!x", username="ada")
    assert len(auth0_env.requests_to("/api/v2/users", "POST")) == 2


def test_create_user_not_retried_after_a_5xx(gateway, auth0_env) -> None:
    auth0_env.fail_next(1, 503)
    with pytest.raises(Auth0Unavailable):
        gateway.create_user(email="ada@example.org", password="Pa55word!x", username="ada")
    assert len(auth0_env.requests_to("/api/v2/users", "POST")) == 1
    assert auth0_env.users == []


def test_5xx_bursts_and_dropped_connections_are_retried(gateway, auth0_env) -> None:
    created = auth0_env.add_user(email="ada@example.org", username="ada")
    auth0_env.fail_next(2, 503)
    auth0_env.fail_next(1, 0)
    auth0_env.fail_next(1, 502)
    assert gateway.get_user(created["user_id"]) is not None
    assert gateway.requests_made >= 4


def test_out_of_retries_is_auth0_unavailable(gateway, auth0_env) -> None:
    gateway.policy = RetryPolicy(max_attempts=3, base_delay_s=0.01)
    auth0_env.fail_next(10, 503)
    with pytest.raises(Auth0Unavailable) as caught:
        gateway.list_roles()
    assert caught.value.exit_code == 5
    assert "3 attempts" in str(caught.value)
    assert auth0_env.client_secret not in str(caught.value)


def test_other_4xx_is_an_auth0_error(gateway, auth0_env) -> None:
    auth0_env.fail_next(1, 403)
    with pytest.raises(Auth0Error) as caught:
        gateway.list_roles()
    assert caught.value.status_code == 403


def test_429_storm_waits_for_the_reset_and_ends_correct(gateway, auth0_env) -> None:
    created = auth0_env.add_user(email="ada@example.org", username="ada")
    auth0_env.rate_limit(50, burst=5)
    for _ in range(20):
        assert gateway.get_user(created["user_id"]) is not None
    assert auth0_env.rate_limited == gateway.rate_limited
    assert gateway.requests_made >= 20


def test_client_side_rate_ceiling(auth0_env, settings_env) -> None:
    settings_env(AUTH0_MAX_RPS="25")
    gateway = auth0.get_gateway()
    started = time.monotonic()
    for _ in range(50):
        gateway.list_roles()
    # 25 in the first burst, then 25 per second: at least ~1 s for 50 calls
    assert time.monotonic() - started >= 0.9


def test_export_streams_every_user(gateway, auth0_env) -> None:
    generated = auth0_env.generate_users(1500, social_fraction=0.2)
    users = list(gateway.export_users())
    assert len(users) == 1500
    assert {u.user_id for u in users} == {u["user_id"] for u in generated}
    social = [u for u in users if u.user_id.startswith("google-oauth2|")]
    assert social and all(u.username is None for u in social)
    assert all(u.updated_at is not None for u in users)


def test_failed_export_job_is_auth0_unavailable(gateway, auth0_env) -> None:
    auth0_env.generate_users(10)
    auth0_env.export_final_status = "failed"
    with pytest.raises(Auth0Unavailable):
        list(gateway.export_users())


def test_malformed_export_lines_are_skipped(tmp_path) -> None:
    path = tmp_path / "export.json.gz"
    lines = [
        b'{"user_id": "auth0|1", "email": "a@example.org", "updated_at": "2026-01-01T00:00:00Z"}',
        b"{not json",
        b'{"email": "no-id@example.org"}',
        b"",
        b'{"user_id": "auth0|2", "blocked": true, "created_at": "nonsense"}',
    ]
    path.write_bytes(gzip.compress(b"\n".join(lines)))
    skipped: list[str] = []
    users = list(parse_export(str(path), skipped.append))
    assert [u.user_id for u in users] == ["auth0|1"]
    assert len(skipped) == 3


def test_role_members_past_1000_with_checkpoint_paging(gateway, auth0_env) -> None:
    users = auth0_env.generate_users(1250)
    role = auth0_env.add_role("biocommons/platform/galaxy")
    auth0_env.generate_role_members(role["id"], [u["user_id"] for u in users])
    members = list(gateway.iter_role_members(role["id"]))
    assert len({m.user_id for m in members}) == 1250
    assert len(auth0_env.requests_to(f"/api/v2/roles/{role['id']}/users")) == 13


def test_search_updated_since_goes_past_the_cap(gateway, auth0_env) -> None:
    auth0_env.generate_users(2300)
    since = datetime(2020, 1, 1, tzinfo=UTC)
    found = {u.user_id for u in gateway.search_users_updated_since(since)}
    assert len(found) == 2300
    later = max(u["updated_at"] for u in auth0_env.users)
    cutoff = datetime.fromisoformat(later.replace("Z", "+00:00")) - timedelta(days=1)
    recent = {
        u["user_id"]
        for u in auth0_env.users
        if datetime.fromisoformat(u["updated_at"].replace("Z", "+00:00")) >= cutoff
    }
    assert {u.user_id for u in gateway.search_users_updated_since(cutoff)} == recent


def test_roles_assign_remove_and_lookup_cache(gateway, auth0_env) -> None:
    user = auth0_env.add_user(email="ada@example.org", username="ada")
    role = auth0_env.add_role("biocommons/platform/galaxy")
    assert gateway.role_by_name("biocommons/platform/galaxy").id == role["id"]
    reads = len(auth0_env.requests_to("/api/v2/roles", "GET"))
    assert gateway.role_by_name("biocommons/platform/galaxy").id == role["id"]
    assert len(auth0_env.requests_to("/api/v2/roles", "GET")) == reads
    assert gateway.role_by_name("no/such/role") is None
    gateway.assign_roles(user["user_id"], [role["id"]])
    assert auth0_env.user_roles(user["user_id"]) == ["biocommons/platform/galaxy"]
    gateway.remove_roles(user["user_id"], [role["id"]])
    assert auth0_env.user_roles(user["user_id"]) == []


def test_send_verification_email(gateway, auth0_env) -> None:
    user = auth0_env.add_user(email="ada@example.org", username="ada")
    job_id = gateway.send_verification_email(user["user_id"])
    assert job_id.startswith("job_")
    assert auth0_env.verification_emails == [user["user_id"]]
