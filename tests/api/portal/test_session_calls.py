"""The portal's view of every call: tokens as the portal's Auth0 SDK gets them, CORS
preflights as the browser sends them, and the role-discovery calls (C1-C3).

The portal asks for `openid profile email offline_access` and no audience, so the tenant's
default audience applies and `aud` is a list: the API plus the userinfo endpoint. Its
tokens carry no `permissions` and no `email` claim.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import GALAXY_ADMIN, SUPER_ROLE, add_user

PORTAL_ORIGIN = "https://portal.example.org"


def portal_token(api, sub: str, roles: list[str]) -> str:  # type: ignore[no-untyped-def]
    fake = api.fake
    return fake.mint_token(
        sub,
        roles=roles,
        audience=[fake.api_audience, f"https://{fake.domain}/userinfo"],
        extra_claims={
            "scope": "openid profile email offline_access",
            "permissions": None,
            "email": None,
        },
    )


def portal_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def test_a_portal_token_is_accepted_and_a_non_admin_gets_a_bare_false(api):
    add_user(api.db_url, "auth0|alice")
    token = portal_token(api, "auth0|alice", [])

    response = api.client.get("/me/is-general-admin", headers=portal_headers(token))

    assert response.status_code == 200
    assert response.json() is False


def test_a_super_admin_gets_a_bare_true(api):
    token = portal_token(api, "auth0|root", [SUPER_ROLE])

    response = api.client.get("/me/is-general-admin", headers=portal_headers(token))

    assert response.status_code == 200
    assert response.json() is True


def test_the_tenant_domain_is_an_accepted_issuer_beside_the_custom_domain(api, settings_env):
    fake = api.fake
    settings_env(AUTH0_ISSUER="https://login.example.org/")
    from api.app import create_app

    with TestClient(create_app()) as client:
        for issuer in (f"https://{fake.domain}/", "https://login.example.org/"):
            token = fake.mint_token("auth0|root", roles=[SUPER_ROLE], issuer=issuer)
            response = client.get("/me/is-general-admin", headers=portal_headers(token))
            assert response.status_code == 200, issuer
            assert response.json() is True
        other = fake.mint_token("auth0|root", roles=[SUPER_ROLE], issuer="https://evil.example/")
        assert client.get("/me/is-general-admin", headers=portal_headers(other)).status_code == 401


def test_admin_role_discovery_lists_each_platform_once(api):
    token = portal_token(api, "auth0|gal", [GALAXY_ADMIN, GALAXY_ADMIN.upper(), GALAXY_ADMIN])

    platforms = api.client.get("/me/platforms/admin-roles", headers=portal_headers(token))
    groups = api.client.get("/me/groups/admin-roles", headers=portal_headers(token))

    assert platforms.status_code == 200
    assert platforms.json() == [{"id": "galaxy", "name": "Galaxy Australia"}]
    assert groups.json() == []


def test_a_request_without_a_token_is_401_with_a_string_detail(api):
    response = api.client.get("/me/profile")

    assert response.status_code == 401
    assert isinstance(response.json()["detail"], str)
    assert response.headers["www-authenticate"].lower().startswith("bearer")


@pytest.fixture
def cors_client(db_url, auth0_env, settings_env):  # type: ignore[no-untyped-def]
    settings_env(CORS_ALLOWED_ORIGINS=PORTAL_ORIGIN)
    from api.app import create_app

    with TestClient(create_app()) as client:
        yield client


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/me/profile"),
        ("GET", "/admin/users?page=1&per_page=50"),
        ("POST", "/me/groups/request"),
        ("POST", "/admin/users/auth0|abc/groups/biocommons/group/tsi/approve"),
        ("POST", "/biocommons/register"),
    ],
)
def test_the_browser_preflight_for_the_portal_origin_is_allowed(cors_client, method, path):
    response = cors_client.options(
        path,
        headers={
            "Origin": PORTAL_ORIGIN,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == PORTAL_ORIGIN
    allowed_methods = response.headers["access-control-allow-methods"]
    assert "GET" in allowed_methods and "POST" in allowed_methods
    allowed_headers = response.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed_headers and "content-type" in allowed_headers


def test_another_origin_gets_no_cors_grant(cors_client):
    response = cors_client.options(
        "/me/profile",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )

    assert "access-control-allow-origin" not in response.headers
