"""The OpenID Connect login of the local Auth0 (aai_cli/localauth0/oidc.py), over HTTP with a
plain client: the persona page, PKCE, the code and refresh grants, silent authentication,
userinfo, logout and CORS. The whole flow against the API is tests/demo/test_demo_server.py."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest

from aai_cli.localauth0.server import PORTAL_CLIENT_ID, ROLES_CLAIM

APP = "http://localhost:4200"
VERIFIER = "a-verifier-of-enough-length-for-pkce-0123456789abcdef"
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=")


@pytest.fixture
def ada(fake_auth0):
    role = fake_auth0.add_role("biocommons/platform/galaxy")
    user = fake_auth0.add_user(
        user_id="auth0|ada", email="ada@example.org", username="ada", name="Ada Lovelace"
    )
    fake_auth0.assign_role(user["user_id"], role["id"])
    return user


def authorize_query(**extra: str) -> dict[str, str]:
    return {
        "client_id": PORTAL_CLIENT_ID,
        "redirect_uri": f"{APP}/callback",
        "response_type": "code",
        "scope": "openid profile email offline_access",
        "state": "s1",
        "nonce": "n1",
        "code_challenge": CHALLENGE.decode(),
        "code_challenge_method": "S256",
        **extra,
    }


def log_in(client: httpx.Client, url: str, user_id: str, **extra: str) -> httpx.Response:
    return client.post(f"{url}/authorize", data={**authorize_query(**extra), "user_id": user_id})


def code_of(response: httpx.Response) -> str:
    return parse_qs(urlsplit(response.headers["location"]).query)["code"][0]


def exchange(client: httpx.Client, url: str, code: str, verifier: str = VERIFIER) -> httpx.Response:
    return client.post(
        f"{url}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "client_id": PORTAL_CLIENT_ID,
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": f"{APP}/callback",
        },
    )


def test_the_persona_page_lists_the_users_and_keeps_the_request(fake_auth0, ada):
    fake_auth0.add_user(email="bob@example.org", username="bob", name="Bob", blocked=True)
    page = httpx.get(f"{fake_auth0.url}/authorize", params=authorize_query())
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Ada Lovelace" in page.text and "biocommons/platform/galaxy" in page.text
    assert "(blocked, email not verified)" in page.text
    assert f'name="code_challenge" value="{CHALLENGE.decode()}"' in page.text


@pytest.mark.parametrize(
    ("change", "title"),
    [
        ({"client_id": "nobody"}, "Unknown client"),
        ({"redirect_uri": "javascript:alert(1)"}, "Invalid redirect_uri"),
        ({"code_challenge_method": "S512"}, "Invalid code_challenge_method"),
    ],
)
def test_a_bad_request_gets_an_error_page_and_no_redirect(fake_auth0, change, title):
    page = httpx.get(f"{fake_auth0.url}/authorize", params=authorize_query(**change))
    assert page.status_code == 400 and title in page.text


def test_the_code_grant_checks_pkce_and_is_single_use(fake_auth0, ada):
    with httpx.Client() as client:
        picked = log_in(client, fake_auth0.url, "auth0|ada")
        assert picked.status_code == 302
        assert picked.headers["location"].startswith(f"{APP}/callback?code=")
        code = code_of(picked)
        refused = exchange(client, fake_auth0.url, code, verifier="not-the-verifier")
        assert refused.status_code == 403
        assert refused.json() == {
            "error": "invalid_grant",
            "error_description": "Failed PKCE verification",
        }
        assert exchange(client, fake_auth0.url, code).status_code == 403  # spent

        code = code_of(log_in(client, fake_auth0.url, "auth0|ada"))
        answer = exchange(client, fake_auth0.url, code)
        assert answer.status_code == 200
        assert exchange(client, fake_auth0.url, code).json()["error"] == "invalid_grant"
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 86400
    access = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert access["aud"] == [fake_auth0.api_audience, f"{fake_auth0.url}/userinfo"]
    assert access[ROLES_CLAIM] == ["biocommons/platform/galaxy"]
    assert (access["iss"], access["sub"], access["azp"]) == (
        f"{fake_auth0.url}/",
        "auth0|ada",
        PORTAL_CLIENT_ID,
    )
    identity = jwt.decode(body["id_token"], options={"verify_signature": False})
    assert (identity["aud"], identity["nonce"], identity["name"]) == (
        PORTAL_CLIENT_ID,
        "n1",
        "Ada Lovelace",
    )


def test_a_blocked_user_is_sent_back_with_an_error(fake_auth0):
    fake_auth0.add_user(user_id="auth0|bob", email="bob@example.org", blocked=True)
    with httpx.Client() as client:
        answer = log_in(client, fake_auth0.url, "auth0|bob")
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query == {
        "error": ["unauthorized"],
        "error_description": ["user is blocked"],
        "state": ["s1"],
    }


def test_refresh_tokens_rotate(fake_auth0, ada):
    with httpx.Client() as client:
        first = exchange(
            client, fake_auth0.url, code_of(log_in(client, fake_auth0.url, "auth0|ada"))
        )
        old = first.json()["refresh_token"]
        grant = {"grant_type": "refresh_token", "client_id": PORTAL_CLIENT_ID, "refresh_token": old}
        renewed = client.post(f"{fake_auth0.url}/oauth/token", data=grant)
        assert renewed.status_code == 200
        assert renewed.json()["refresh_token"] != old
        again = client.post(f"{fake_auth0.url}/oauth/token", data=grant)
    assert again.status_code == 403 and again.json()["error"] == "invalid_grant"


def test_silent_authentication_answers_from_the_session_by_web_message(fake_auth0, ada):
    silent = authorize_query(prompt="none", response_mode="web_message")
    with httpx.Client() as client:
        without = client.get(f"{fake_auth0.url}/authorize", params=silent)
        log_in(client, fake_auth0.url, "auth0|ada")
        assert fake_auth0.signed_in("auth0|ada")
        within = client.get(f"{fake_auth0.url}/authorize", params=silent)
        logout = client.get(f"{fake_auth0.url}/v2/logout", params={"returnTo": APP})
        after = client.get(f"{fake_auth0.url}/authorize", params=silent)
    assert not fake_auth0.signed_in("auth0|ada")
    assert (logout.status_code, logout.headers["location"]) == (302, APP)

    def message(page: httpx.Response) -> dict:
        found = re.search(r"postMessage\((\{.*\}), '([^']+)'\)", page.text)
        assert found, page.text
        assert found.group(2) == APP  # only the app's origin receives it
        return json.loads(found.group(1))

    assert message(without)["response"]["error"] == "login_required"
    assert message(after)["response"]["error"] == "login_required"
    answer = message(within)
    assert answer["type"] == "authorization_response"
    assert answer["response"]["state"] == "s1" and answer["response"]["code"]


def test_userinfo_takes_a_token_with_the_userinfo_audience(fake_auth0, ada):
    token = fake_auth0.user_token("auth0|ada")
    info = httpx.get(f"{fake_auth0.url}/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert info.status_code == 200
    assert info.json() | {"updated_at": None, "picture": None} == {
        "sub": "auth0|ada",
        "name": "Ada Lovelace",
        "nickname": "ada",
        "email": "ada@example.org",
        "email_verified": False,
        "updated_at": None,
        "picture": None,
    }
    api_only = fake_auth0.user_token("auth0|ada", scope="read:things")
    refused = httpx.get(
        f"{fake_auth0.url}/userinfo", headers={"Authorization": f"Bearer {api_only}"}
    )
    assert refused.status_code == 401


def test_the_browser_calls_get_cors_headers(fake_auth0):
    preflight = httpx.options(
        f"{fake_auth0.url}/oauth/token",
        headers={"Origin": APP, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == APP
    assert "Content-Type" in preflight.headers["access-control-allow-headers"]
    management = httpx.get(f"{fake_auth0.url}/api/v2/users", headers={"Origin": APP})
    assert "access-control-allow-origin" not in management.headers


def test_the_password_grant_token_carries_the_roles(fake_auth0):
    role = fake_auth0.add_role("biocommons/platform/sbp")
    user = fake_auth0.add_user(email="cy@example.org", username="cy", password="Str0ng!pass")
    fake_auth0.assign_role(user["user_id"], role["id"])
    answer = httpx.post(
        f"{fake_auth0.url}/oauth/token",
        data={
            "grant_type": "password",
            "username": "cy",
            "password": "Str0ng!pass",
            "client_id": fake_auth0.client_id,
            "client_secret": fake_auth0.client_secret,
        },
    )
    claims = jwt.decode(answer.json()["access_token"], options={"verify_signature": False})
    assert claims[ROLES_CLAIM] == ["biocommons/platform/sbp"]
    assert claims["aud"] == fake_auth0.api_audience
