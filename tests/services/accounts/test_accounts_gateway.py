"""The gateway's account calls against the local Auth0 (the real SDK over the wire):
update, block, revoke, password-change ticket, password check; errors mapped."""

from __future__ import annotations

import pytest

from aai_cli.errors import Auth0Unavailable, InvalidInput, NotFound
from aai_cli.services.auth0.gateway import Auth0Conflict

DB = "Username-Password-Authentication"


def patches(fake) -> list[int]:  # type: ignore[no-untyped-def]
    return [r.status for r in fake.requests_to("/api/v2/users/", "PATCH")]


def test_update_user_names_the_connection_and_returns_the_user(gateway, auth0_env):
    ada = auth0_env.add_user(email="ada@example.org", username="ada")
    user = gateway.update_user(ada["user_id"], username="ada2", name=None)
    assert (user.username, user.email) == ("ada2", "ada@example.org")
    user = gateway.update_user(ada["user_id"], email="Ada@New.org", email_verified=True)
    assert (user.email, user.email_verified) == ("ada@new.org", True)
    assert gateway.block_user(ada["user_id"]).blocked is True
    assert gateway.block_user(ada["user_id"], blocked=False).blocked is False


def test_update_user_refusals(gateway, auth0_env):
    ada = auth0_env.add_user(email="ada@example.org", username="ada")
    auth0_env.add_user(email="alan@example.org", username="alan")
    with pytest.raises(Auth0Conflict) as taken:
        gateway.update_user(ada["user_id"], username="alan")
    assert (taken.value.field, taken.value.exit_code) == ("username", 3)
    with pytest.raises(Auth0Conflict) as taken:
        gateway.update_user(ada["user_id"], email="alan@example.org")
    assert taken.value.field == "email"
    with pytest.raises(InvalidInput) as pair:
        gateway.update_user(ada["user_id"], email="x@example.org", password="Str0ng!pass")
    assert "Cannot update password and email simultaneously" in str(pair.value)
    with pytest.raises(NotFound):
        gateway.update_user("auth0|nobody", name="Nobody")
    assert auth0_env.get_user(ada["user_id"])["username"] == "ada"


def test_update_user_retries_a_transient_failure_then_gives_up(gateway, auth0_env):
    ada = auth0_env.add_user(email="ada@example.org", username="ada")
    auth0_env.fail_next(1, 503)
    assert gateway.update_user(ada["user_id"], name="Ada L").name == "Ada L"
    auth0_env.fail_next(2, 503)
    with pytest.raises(Auth0Unavailable):
        gateway.update_user(ada["user_id"], name="Ada M")
    assert auth0_env.get_user(ada["user_id"])["name"] == "Ada L"


def test_revoke_sessions_and_refresh_tokens(gateway, auth0_env):
    ada = auth0_env.add_user(email="ada@example.org", username="ada")
    auth0_env.open_session(ada["user_id"])
    gateway.revoke_sessions(ada["user_id"])
    assert (auth0_env.sessions_of(ada["user_id"]), auth0_env.refresh_tokens_of(ada["user_id"])) == (
        0,
        0,
    )
    with pytest.raises(NotFound):
        gateway.revoke_sessions("auth0|nobody")


def test_password_change_ticket_is_never_retried(gateway, auth0_env):
    ada = auth0_env.add_user(email="ada@example.org", username="ada")
    social = auth0_env.add_user(email="g@example.org", connection="google-oauth2")
    link = gateway.create_password_change_ticket(ada["user_id"], ttl_sec=600)
    assert link == auth0_env.password_tickets[0]["ticket"]
    with pytest.raises(InvalidInput):
        gateway.create_password_change_ticket(social["user_id"])
    with pytest.raises(NotFound):
        gateway.create_password_change_ticket("auth0|nobody")
    auth0_env.fail_next(1, 503, path_prefix="/api/v2/tickets/")
    with pytest.raises(Auth0Unavailable):
        gateway.create_password_change_ticket(ada["user_id"])
    assert len(auth0_env.requests_to("/api/v2/tickets/", "POST")) == 4


def test_check_password(gateway, auth0_env):
    auth0_env.add_user(email="ada@example.org", username="ada", password="Str0ng!pass")
    assert gateway.check_password("ada", "Str0ng!pass") is True
    assert gateway.check_password("ada", "wrong") is False
    assert gateway.check_password("nobody", "Str0ng!pass") is False
    auth0_env.fail_next(1, 503, path_prefix="/oauth/token")
    with pytest.raises(Auth0Unavailable):
        gateway.check_password("ada", "Str0ng!pass")
    grants = [r for r in auth0_env.requests_to("/oauth/token", "POST")]
    assert len(grants) == 4  # each check once, never retried
