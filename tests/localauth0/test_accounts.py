"""The local Auth0's account endpoints (aai_cli/localauth0/accounts.py) through the real
auth0-python SDK, and plain httpx for the token endpoint: PATCH rules, hashed passwords and
the password grant, password-change tickets, session and refresh-token revocation."""

from __future__ import annotations

import threading

import httpx
import pytest
from auth0.management import Auth0
from auth0.management.core.api_error import ApiError

from aai_cli.localauth0.server import LocalAuth0

DB = "Username-Password-Authentication"
REALM = "http://auth0.com/oauth/grant-type/password-realm"


@pytest.fixture
def client(fake_auth0: LocalAuth0) -> Auth0:
    token = fake_auth0.management_token()
    return Auth0(base_url=f"{fake_auth0.url}/api/v2", token=lambda: token, max_retries=0)


def error_of(call) -> ApiError:  # type: ignore[no-untyped-def]
    with pytest.raises(ApiError) as info:
        call()
    return info.value


def grant(fake: LocalAuth0, username: str, password: str, **extra: str) -> httpx.Response:
    body = {
        "grant_type": REALM,
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
        "username": username,
        "password": password,
        "realm": DB,
        "scope": "openid",
        **extra,
    }
    return httpx.post(f"{fake.url}/oauth/token", json=body)


def test_patch_refuses_pairs_unknown_users_and_taken_values(fake_auth0, client):
    ada = fake_auth0.add_user(email="ada@example.org", username="ada")
    fake_auth0.add_user(email="alan@example.org", username="alan")
    pairs = [
        ({"email": "a@example.org", "password": "Str0ng!pass"}, "password and email"),
        ({"email": "a@example.org", "username": "ada2"}, "username and email"),
        ({"username": "ada2", "password": "Str0ng!pass"}, "username and password"),
    ]
    for fields, named in pairs:
        error = error_of(lambda f=fields: client.users.update(ada["user_id"], connection=DB, **f))
        assert (error.status_code, error.body["message"]) == (
            400,
            f"Cannot update {named} simultaneously",
        )
    taken = error_of(lambda: client.users.update(ada["user_id"], email="ALAN@example.org"))
    assert (taken.status_code, taken.body["message"], taken.body["errorCode"]) == (
        400,
        "The specified new email already exists",
        "auth0_idp_error",
    )
    missing = error_of(lambda: client.users.update("auth0|nobody", name="x"))
    assert (missing.status_code, missing.body["errorCode"]) == (404, "inexistent_user")
    too_long = error_of(lambda: client.users.update(ada["user_id"], given_name="x" * 151))
    assert too_long.status_code == 400
    client.users.update(ada["user_id"], blocked=True, name="Ada L", given_name="Ada")
    stored = fake_auth0.get_user(ada["user_id"])
    assert (stored["blocked"], stored["name"], stored["given_name"]) == (True, "Ada L", "Ada")


def test_passwords_are_stored_hashed_and_checked_by_the_password_grant(fake_auth0, client):
    created = client.users.create(
        connection=DB, email="ada@example.org", username="ada", password="Str0ng!pass"
    )
    stored = fake_auth0.accounts.passwords[created.user_id]
    assert "Str0ng!pass" not in stored and stored.startswith("pbkdf2_sha256$")
    ok = grant(fake_auth0, "ada", "Str0ng!pass")
    assert ok.status_code == 200 and ok.json()["token_type"] == "Bearer"
    assert grant(fake_auth0, "ada@example.org", "Str0ng!pass").status_code == 200
    wrong = grant(fake_auth0, "ada", "wrong-pass")
    assert (wrong.status_code, wrong.json()) == (
        403,
        {"error": "invalid_grant", "error_description": "Wrong email or password."},
    )
    assert grant(fake_auth0, "nobody", "Str0ng!pass").status_code == 403
    client.users.update(created.user_id, password="N3w!password", connection=DB)
    assert grant(fake_auth0, "ada", "Str0ng!pass").status_code == 403
    assert grant(fake_auth0, "ada", "N3w!password").status_code == 200
    client.users.update(created.user_id, blocked=True)
    blocked = grant(fake_auth0, "ada", "N3w!password")
    assert (blocked.status_code, blocked.json()["error_description"]) == (401, "user is blocked")
    bad_client = grant(fake_auth0, "ada", "N3w!password", client_secret="nope")
    assert bad_client.status_code == 401
    no_realm = httpx.post(
        f"{fake_auth0.url}/oauth/token",
        json={
            "grant_type": REALM,
            "client_id": fake_auth0.client_id,
            "client_secret": fake_auth0.client_secret,
            "username": "ada",
            "password": "N3w!password",
        },
    )
    assert no_realm.status_code == 400


def test_add_user_with_a_password_can_sign_in(fake_auth0):
    fake_auth0.add_user(email="ada@example.org", username="ada", password="Str0ng!pass")
    assert grant(fake_auth0, "ada", "Str0ng!pass", scope="openid offline_access").status_code == 200
    [user] = fake_auth0.users
    assert "password" not in user
    assert (
        fake_auth0.sessions_of(user["user_id"]),
        fake_auth0.refresh_tokens_of(user["user_id"]),
    ) == (1, 1)


def test_password_change_tickets(fake_auth0, client):
    ada = fake_auth0.add_user(email="ada@example.org", username="ada")
    social = fake_auth0.add_user(email="g@example.org", connection="google-oauth2")
    answer = client.tickets.change_password(user_id=ada["user_id"], ttl_sec=3600)
    assert answer.ticket.startswith(f"{fake_auth0.url}/lo/reset?ticket=")
    [ticket] = fake_auth0.password_tickets
    assert (ticket["user_id"], ticket["ttl_sec"], ticket["ticket"]) == (
        ada["user_id"],
        3600,
        answer.ticket,
    )
    missing = error_of(lambda: client.tickets.change_password(user_id="auth0|nobody"))
    assert missing.status_code == 404
    refused = error_of(lambda: client.tickets.change_password(user_id=social["user_id"]))
    assert refused.status_code == 400
    both = error_of(
        lambda: client.tickets.change_password(
            user_id=ada["user_id"], email="ada@example.org", connection_id="con_Db0fAkeUsrPwdAu"
        )
    )
    assert both.status_code == 400
    by_email = client.tickets.change_password(
        email="ada@example.org", connection_id="con_Db0fAkeUsrPwdAu"
    )
    assert fake_auth0.password_tickets[-1]["user_id"] == ada["user_id"] and by_email.ticket


def test_sessions_and_refresh_tokens_are_revoked(fake_auth0, client):
    ada = fake_auth0.add_user(email="ada@example.org", username="ada")
    fake_auth0.open_session(ada["user_id"])
    fake_auth0.open_session(ada["user_id"])
    client.users.sessions.delete(ada["user_id"])
    assert (
        fake_auth0.sessions_of(ada["user_id"]),
        fake_auth0.refresh_tokens_of(ada["user_id"]),
    ) == (0, 2)
    client.users.refresh_token.delete(ada["user_id"])
    assert fake_auth0.refresh_tokens_of(ada["user_id"]) == 0
    assert fake_auth0.accounts.revocations == [
        ("sessions", ada["user_id"]),
        ("refresh_tokens", ada["user_id"]),
    ]
    assert error_of(lambda: client.users.sessions.delete("auth0|nobody")).status_code == 404
    statuses = [r.status for r in fake_auth0.requests_to("/api/v2/users/", "DELETE")]
    assert statuses == [202, 202, 404]


def test_new_endpoints_keep_rate_limits_failures_and_holds(fake_auth0, client):
    ada = fake_auth0.add_user(email="ada@example.org", username="ada")
    fake_auth0.fail_next(1, 503, path_prefix="/api/v2/tickets/")
    assert (
        error_of(lambda: client.tickets.change_password(user_id=ada["user_id"])).status_code == 503
    )
    fake_auth0.rate_limit(1, burst=1)
    client.users.sessions.delete(ada["user_id"])
    limited = error_of(lambda: client.users.refresh_token.delete(ada["user_id"]))
    assert limited.status_code == 429
    fake_auth0.rate_limit(None)
    held = fake_auth0.hold("PATCH", r"/api/v2/users/[^/]+")
    done = threading.Thread(target=lambda: client.users.update(ada["user_id"], name="Ada"))
    done.start()
    held.wait_arrivals(1)
    assert fake_auth0.get_user(ada["user_id"])["name"] != "Ada"
    held.release()
    done.join(5)
    assert fake_auth0.get_user(ada["user_id"])["name"] == "Ada"
