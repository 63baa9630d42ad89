"""The Auth0 Action flows over HTTP, as the portal and Auth0 call them (no bearer token):
the legacy password migration (C33, C35), the verification resend (C34) and the welcome
email (C32), against the local Auth0, the local reCAPTCHA verify service and a real SMTP
server, on both databases."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from aai_cli import db
from aai_cli.localauth0.server import PORTAL_CLIENT_ID
from aai_cli.models import SessionTokenUse, WelcomeEmail
from api.app import create_app
from tests.api.conftest import Api, add_user

MIGRATION = "/me/migration/update-password"
COMPLETED = "/me/migration/password-changed"
RESEND = "/me/email-verification/resend"
WELCOME = "/utils/send-welcome-email"
JSON = {"Content-Type": "application/json"}
WELCOME_ANSWER = {
    "message": "If a verified account uses this address, it has been sent its welcome email."
}


def legacy_user(api: Any, **fields: Any) -> dict[str, Any]:
    return api.fake.add_user(
        email="ada@uni.edu.au",
        username="ada",
        name="Ada Lovelace",
        email_verified=True,
        app_metadata={"user_needs_migration": True, "registration_from": "galaxy"},
        **fields,
    )


def start_migration(api: Any, token: str, client_id: str = PORTAL_CLIENT_ID) -> Any:
    """C33 exactly as the portal's /migration page sends it."""
    return api.client.post(
        MIGRATION, json={"session_token": token, "client_id": client_id}, headers=JSON
    )


def complete(api: Any, token: str, state: str = "st4te") -> Any:
    """C35 as the browser follows Auth0's redirect (a plain navigation)."""
    query = f"state={quote(state, safe='')}&session_token={quote(token, safe='')}"
    return api.client.get(f"{COMPLETED}?{query}", follow_redirects=False)


@contextmanager
def restarted(api: Any) -> Iterator[Api]:
    """The app built again, so that settings changed in the test apply."""
    with TestClient(create_app()) as client:
        yield Api(client, api.fake, api.db_url, api.recaptcha)


def spent(db_url: str) -> list[tuple[str, str]]:
    with db.session_scope(db_url, readonly=True) as session:
        rows = session.exec(select(SessionTokenUse)).all()
        return sorted((row.flow, row.user_id) for row in rows)


# --- C33: the password-change email ---------------------------------------------------


def test_migration_sends_auth0_password_change_email_for_the_client(api):
    user = legacy_user(api)
    token = api.fake.action_session_token(user["user_id"], claims={"email": "ada@uni.edu.au"})

    answer = start_migration(api, token)

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"message": "Password change initiated successfully"}
    assert api.fake.password_change_emails == [
        {
            "user_id": user["user_id"],
            "client_id": PORTAL_CLIENT_ID,
            "email": "ada@uni.edu.au",
            "connection": "Username-Password-Authentication",
        }
    ]
    assert spent(api.db_url) == [("migration", user["user_id"])]


def test_migration_token_cannot_be_replayed(api):
    user = legacy_user(api)
    token = api.fake.action_session_token(user["user_id"], claims={"email": "ada@uni.edu.au"})
    assert start_migration(api, token).status_code == 200

    replay = start_migration(api, token)

    assert replay.status_code == 401
    assert replay.json()["detail"] == "session_token already used"
    assert len(api.fake.password_change_emails) == 1


def test_a_replay_while_the_first_use_waits_for_auth0_is_refused(api):
    user = legacy_user(api)
    token = api.fake.action_session_token(user["user_id"], claims={"email": "ada@uni.edu.au"})
    held = api.fake.hold("POST", "/dbconnections/change_password")
    answers: list[Any] = []
    first = threading.Thread(target=lambda: answers.append(start_migration(api, token)))
    first.start()
    try:
        assert held.wait_arrivals(1)
        replay = start_migration(api, token)
    finally:
        held.release()
        first.join(30)
    assert replay.status_code == 401
    assert [a.status_code for a in answers] == [200]
    assert len(api.fake.password_change_emails) == 1


def test_auth0_unavailable_is_503_and_the_same_link_works_again(api):
    user = legacy_user(api)
    token = api.fake.action_session_token(user["user_id"], claims={"email": "ada@uni.edu.au"})
    api.fake.fail_next(1, 503, path_prefix="/dbconnections/")

    failed = start_migration(api, token)

    assert failed.status_code == 503
    assert spent(api.db_url) == []
    assert start_migration(api, token).status_code == 200
    assert len(api.fake.password_change_emails) == 1


def test_the_action_secret_setting_replaces_the_management_secret(api, settings_env):
    settings_env(AUTH0_ACTION_SECRET="an-action-secret-of-32-characters!")
    user = legacy_user(api)
    claims = {"email": "ada@uni.edu.au"}
    old = api.fake.action_session_token(user["user_id"], claims=claims)
    new = api.fake.action_session_token(
        user["user_id"], claims=claims, secret="an-action-secret-of-32-characters!"
    )

    with restarted(api) as own:
        assert start_migration(own, old).status_code == 401
        assert start_migration(own, new).status_code == 200


def _defective(api: Any, user_id: str, defect: str) -> str:
    """A token for `user_id` that is not one the Action would make (401)."""
    fake = api.fake
    email = {"email": "ada@uni.edu.au"}
    tokens = {
        "expired": lambda: fake.action_session_token(user_id, claims=email, expires_in=-120),
        "wrong secret": lambda: fake.action_session_token(
            user_id, claims=email, secret="not-the-secret-of-the-tenant-at-all-nor-near-it"
        ),
        "unsigned": lambda: fake.action_session_token(user_id, claims=email, alg="none"),
        "RS256": lambda: fake.mint_token(user_id, extra_claims=email),
        "HS512": lambda: fake.action_session_token(user_id, claims=email, alg="HS512"),
        "no exp": lambda: fake.action_session_token(user_id, claims={**email, "exp": None}),
        "lives a week": lambda: fake.action_session_token(
            user_id, claims=email, expires_in=7 * 86400
        ),
        "garbage": lambda: "not.a.jwt",
    }
    return tokens[defect]()


def _assert_auth0_not_asked(api: Any) -> None:
    assert api.fake.password_change_emails == []
    assert api.fake.requests_to("/dbconnections/") == []


@pytest.mark.parametrize(
    ("defect", "detail"),
    [
        ("expired", "session_token expired"),
        ("wrong secret", "invalid session_token"),
        ("unsigned", "invalid session_token"),
        ("RS256", "invalid session_token"),
        ("HS512", "invalid session_token"),
        ("no exp", "invalid session_token"),
        ("lives a week", "invalid session_token: it lives longer than a day"),
        ("garbage", "invalid session_token"),
    ],
)
def test_a_token_the_action_did_not_make_is_401_without_an_email(api, defect, detail):
    user = legacy_user(api)

    answer = start_migration(api, _defective(api, user["user_id"], defect))

    assert (answer.status_code, answer.json()["detail"]) == (401, detail)
    assert answer.headers["WWW-Authenticate"] == "Bearer"
    _assert_auth0_not_asked(api)


@pytest.mark.parametrize(
    ("claims", "detail"),
    [
        pytest.param(
            {"email": "ada@uni.edu.au", "sub": None}, "Invalid session token: 'sub'", id="no sub"
        ),
        pytest.param({}, "Invalid session token: 'email'", id="no email"),
        pytest.param({"email": 42}, "Invalid session token: 'email'", id="email not text"),
        pytest.param(
            {"email": "ada@uni.edu.au", "purpose": "unverified_email_resend"},
            "Invalid session token: wrong purpose",
            id="resend token",
        ),
    ],
)
def test_a_sound_token_without_the_claims_the_flow_needs_is_400_without_an_email(
    api, claims, detail
):
    user = legacy_user(api)
    token = api.fake.action_session_token(user["user_id"], claims=claims)

    answer = start_migration(api, token)

    assert answer.status_code == 400
    assert answer.json() == {"message": detail, "detail": detail, "field_errors": []}
    _assert_auth0_not_asked(api)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "session_token"),
        ({"session_token": "", "client_id": PORTAL_CLIENT_ID}, "session_token"),
        ({"session_token": "x"}, "client_id"),
        ({"session_token": "x", "client_id": "a b/../c"}, "client_id"),
        ({"session_token": "x" * 9000, "client_id": PORTAL_CLIENT_ID}, "session_token"),
    ],
)
def test_malformed_bodies_are_400_naming_the_field(api, body, field):
    answer = api.client.post(MIGRATION, json=body, headers=JSON)

    assert answer.status_code == 400
    assert field in [error["field"] for error in answer.json()["field_errors"]]


def test_a_client_auth0_does_not_know_is_400_with_auth0s_reason(api):
    user = legacy_user(api)
    token = api.fake.action_session_token(user["user_id"], claims={"email": "ada@uni.edu.au"})

    answer = start_migration(api, token, client_id="someone-elses-client")

    assert answer.status_code == 400
    assert answer.json()["detail"] == "Auth0 refused the password-change email: Client not found"
    assert spent(api.db_url) == []


# --- C35: the completion --------------------------------------------------------------


def test_completion_clears_the_flag_welcomes_once_and_resumes_on_the_custom_domain(
    api, smtp_env, settings_env
):
    settings_env(AUTH0_CUSTOM_DOMAIN="https://login.test.biocommons.org.au/")
    user = legacy_user(api)

    with restarted(api) as own:
        answer = complete(own, api.fake.action_session_token(user["user_id"]), state="a&b=c d")

    assert answer.status_code == 307, answer.text
    assert answer.headers["location"] == (
        "https://login.test.biocommons.org.au/continue?state=a%26b%3Dc+d"
    )
    assert api.fake.get_user(user["user_id"])["app_metadata"] == {
        "user_needs_migration": False,
        "registration_from": "galaxy",
    }
    [welcome] = smtp_env.to("ada@uni.edu.au")
    assert welcome.message["Subject"] == "Welcome to BioCommons Access"
    assert "Hello Ada Lovelace" in welcome.part("plain")
    assert "https://portal.test" in welcome.part("html")

    again = complete(api, api.fake.action_session_token(user["user_id"]))
    assert again.status_code == 307
    assert len(smtp_env.to("ada@uni.edu.au")) == 1


def test_completion_resumes_on_the_tenant_domain_without_a_custom_one(api):
    user = legacy_user(api)

    answer = complete(api, api.fake.action_session_token(user["user_id"]))

    assert answer.headers["location"] == "https://tenant.test/continue?state=st4te"


def test_completion_token_cannot_be_replayed(api):
    user = legacy_user(api)
    token = api.fake.action_session_token(user["user_id"])
    assert complete(api, token).status_code == 307

    replay = complete(api, token)

    assert (replay.status_code, replay.json()["detail"]) == (401, "session_token already used")
    assert len(api.fake.requests_to("/api/v2/users/", method="PATCH")) == 1


def test_a_migration_token_spent_on_step_one_cannot_complete(api):
    user = legacy_user(api)
    token = api.fake.action_session_token(user["user_id"], claims={"email": "ada@uni.edu.au"})
    assert start_migration(api, token).status_code == 200

    assert complete(api, token).status_code == 401
    assert api.fake.get_user(user["user_id"])["app_metadata"]["user_needs_migration"] is True


@pytest.mark.parametrize("missing", ["state", "session_token"])
def test_completion_without_a_query_parameter_is_400(api, missing):
    query = {"state": "s", "session_token": "t"}
    query.pop(missing)

    answer = api.client.get(COMPLETED, params=query, follow_redirects=False)

    assert answer.status_code == 400
    assert f"query.{missing}" in [error["field"] for error in answer.json()["field_errors"]]


def test_completion_for_an_account_auth0_does_not_have_is_404(api):
    answer = complete(api, api.fake.action_session_token("auth0|gone"))

    assert answer.status_code == 404
    assert spent(api.db_url) == []


def test_completion_with_an_invalid_token_changes_nothing(api):
    user = legacy_user(api)

    answer = complete(api, _defective(api, user["user_id"], "wrong secret"))

    assert answer.status_code == 401
    assert api.fake.get_user(user["user_id"])["app_metadata"]["user_needs_migration"] is True


# --- C32: the welcome email -----------------------------------------------------------


def welcome(api: Any, email: str) -> Any:
    """C32 as the portal's email-verified page sends it."""
    return api.client.post(WELCOME, json={"email": email}, headers=JSON)


def welcomes(db_url: str) -> list[str]:
    with db.session_scope(db_url, readonly=True) as session:
        return sorted(row.user_id for row in session.exec(select(WelcomeEmail)).all())


def test_welcome_goes_once_to_a_verified_account(api, smtp_env):
    user = api.fake.add_user(email="grace@uni.edu.au", name="Grace Hopper", email_verified=True)

    first = welcome(api, "Grace@UNI.edu.au ")
    second = welcome(api, "grace@uni.edu.au")

    assert (first.status_code, first.json()) == (200, WELCOME_ANSWER)
    assert (second.status_code, second.json()) == (200, WELCOME_ANSWER)
    [message] = smtp_env.to("grace@uni.edu.au")
    assert message.message["Subject"] == "Welcome to BioCommons Access"
    assert "Hello Grace Hopper" in message.part("plain")
    assert welcomes(api.db_url) == [user["user_id"]]


def test_a_known_person_welcomed_before_costs_no_auth0_call(api, smtp_env):
    user = api.fake.add_user(email="grace@uni.edu.au", email_verified=True)
    add_user(api.db_url, user["user_id"], email="grace@uni.edu.au")
    assert welcome(api, "grace@uni.edu.au").status_code == 200
    before = len(api.fake.requests_to("/api/v2/users-by-email"))

    assert welcome(api, "grace@uni.edu.au").status_code == 200

    assert len(api.fake.requests_to("/api/v2/users-by-email")) == before == 1
    assert len(smtp_env.to("grace@uni.edu.au")) == 1


@pytest.mark.parametrize(
    "email",
    ["unverified@uni.edu.au", "nobody@uni.edu.au"],
)
def test_no_welcome_without_a_verified_account_and_the_same_answer(api, smtp_env, email):
    api.fake.add_user(email="unverified@uni.edu.au", email_verified=False)

    answer = welcome(api, email)

    assert (answer.status_code, answer.json()) == (200, WELCOME_ANSWER)
    assert smtp_env.messages == []
    assert welcomes(api.db_url) == []


def test_two_requests_at_once_send_one_welcome(api, smtp_env):
    api.fake.add_user(email="grace@uni.edu.au", email_verified=True)
    held = api.fake.hold("GET", "/api/v2/users-by-email")
    answers: list[Any] = []
    threads = [
        threading.Thread(target=lambda: answers.append(welcome(api, "grace@uni.edu.au")))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    try:
        assert held.wait_arrivals(2)
    finally:
        held.release()
        for thread in threads:
            thread.join(30)

    assert [a.status_code for a in answers] == [200, 200]
    assert len(smtp_env.to("grace@uni.edu.au")) == 1


@pytest.mark.parametrize("email", ["not-an-address", "a@b", "two words@uni.edu.au"])
def test_welcome_for_something_that_is_not_an_address_is_400(api, email):
    answer = welcome(api, email)

    assert answer.status_code == 400
    assert api.fake.requests_to("/api/v2/users-by-email") == []


def test_welcome_is_rate_limited_per_client(api):
    answers = [welcome(api, f"n{i}@uni.edu.au").status_code for i in range(12)]

    assert answers[:10] == [200] * 10
    assert answers[10:] == [429, 429]


# --- C34: the verification resend -----------------------------------------------------


def unverified_user(api: Any, email: str = "grace@uni.edu.au") -> dict[str, Any]:
    return api.fake.add_user(email=email, username=email.split("@")[0], email_verified=False)


def resend_token(api: Any, account: str, **claims: Any) -> str:
    """As the post-login Action mints it for /user/email-verification-required."""
    return api.fake.action_session_token(
        account, claims={"purpose": "unverified_email_resend", "user_id": account, **claims}
    )


def resend(api: Any, token: str, recaptcha_token: str = "solved-checkbox") -> Any:
    """C34 exactly as the portal's page sends it."""
    return api.client.post(
        RESEND, json={"session_token": token, "recaptcha_token": recaptcha_token}, headers=JSON
    )


def test_resend_starts_a_verification_job_for_that_user_only(api):
    user = unverified_user(api)
    unverified_user(api, "someone@uni.edu.au")

    answer = resend(api, resend_token(api, user["user_id"]))

    assert (answer.status_code, answer.json()) == (
        200,
        {"message": "Verification email sent successfully"},
    )
    assert api.fake.verification_emails == [user["user_id"]]
    assert api.recaptcha.requests == [
        {"secret": "local-recaptcha-secret", "response": "solved-checkbox"}
    ]


def test_a_refused_recaptcha_stops_before_the_token_and_auth0(api):
    user = unverified_user(api)
    api.recaptcha.refused.add("bot")

    answer = resend(api, resend_token(api, user["user_id"]), recaptcha_token="bot")

    assert (answer.status_code, answer.json()["detail"]) == (
        400,
        "Invalid recaptcha token, please try again",
    )
    assert api.fake.verification_emails == []
    assert spent(api.db_url) == []


def test_recaptcha_for_another_site_is_refused(api, settings_env):
    settings_env(RECAPTCHA_HOSTNAME="portal.test")
    api.recaptcha.hostname = "phishing.example"
    user = unverified_user(api)

    with restarted(api) as own:
        answer = resend(own, resend_token(api, user["user_id"]))

    assert answer.status_code == 400
    assert api.fake.verification_emails == []


def test_an_unreachable_verify_service_is_503_and_sends_nothing(api, settings_env):
    settings_env(RECAPTCHA_VERIFY_URL="http://127.0.0.1:9/recaptcha/api/siteverify")
    user = unverified_user(api)

    with restarted(api) as own:
        answer = resend(own, resend_token(api, user["user_id"]))

    assert answer.status_code == 503
    assert isinstance(answer.json()["detail"], str)
    assert api.fake.verification_emails == []


@pytest.mark.parametrize(
    ("claims", "detail"),
    [
        ({"purpose": "password_migration"}, "Invalid session token: wrong purpose"),
        ({"purpose": None}, "Invalid session token: wrong purpose"),
        ({"user_id": None}, "Invalid session token: missing user id"),
    ],
)
def test_resend_token_claims_are_checked(api, claims, detail):
    user = unverified_user(api)

    answer = resend(api, resend_token(api, user["user_id"], **claims))

    assert (answer.status_code, answer.json()["detail"]) == (400, detail)
    assert api.fake.verification_emails == []


@pytest.mark.parametrize(
    ("defect", "detail"),
    [("expired", "session_token expired"), ("wrong secret", "invalid session_token")],
)
def test_resend_with_a_bad_token_is_401(api, defect, detail):
    user = unverified_user(api)
    secret = "not-the-secret-of-the-tenant-at-all-nor-near-it" if defect == "wrong secret" else None
    token = api.fake.action_session_token(
        user["user_id"],
        claims={"purpose": "unverified_email_resend", "user_id": user["user_id"]},
        expires_in=-120 if defect == "expired" else 300,
        secret=secret,
    )

    answer = resend(api, token)

    assert (answer.status_code, answer.json()["detail"]) == (401, detail)
    assert api.fake.verification_emails == []


def test_a_resend_token_cannot_be_replayed(api):
    user = unverified_user(api)
    token = resend_token(api, user["user_id"])
    assert resend(api, token).status_code == 200

    replay = resend(api, token)

    assert (replay.status_code, replay.json()["detail"]) == (401, "session_token already used")
    assert api.fake.verification_emails == [user["user_id"]]


def test_a_verified_account_gets_no_new_link(api):
    user = api.fake.add_user(email="done@uni.edu.au", email_verified=True)

    answer = resend(api, resend_token(api, user["user_id"]))

    assert answer.status_code == 409
    assert api.fake.verification_emails == []


def test_resend_is_rate_limited_per_user(api):
    user = unverified_user(api)

    answers = [resend(api, resend_token(api, user["user_id"])).status_code for _ in range(4)]

    assert answers == [200, 200, 200, 429]
    assert api.fake.verification_emails == [user["user_id"]] * 3


def test_resend_is_rate_limited_per_client(api):
    people = [unverified_user(api, f"p{i}@uni.edu.au") for i in range(6)]

    answers = [resend(api, resend_token(api, p["user_id"])).status_code for p in people]

    assert answers == [200] * 5 + [429]


def test_resend_bodies_are_400_with_a_string_detail(api):
    answer = api.client.post(
        RESEND, json={"session_token": "", "recaptcha_token": ""}, headers=JSON
    )

    assert answer.status_code == 400
    assert isinstance(answer.json()["detail"], str)
    assert {e["field"] for e in answer.json()["field_errors"]} == {
        "session_token",
        "recaptcha_token",
    }
