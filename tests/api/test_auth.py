"""Authentication over HTTP: every token defect is a 401 with `WWW-Authenticate: Bearer`,
never a 500; garbage tokens cannot make the API hammer the JWKS endpoint."""

from __future__ import annotations

import time

import pytest
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient

from aai_cli.localauth0.keys import pooled_key
from tests.api.conftest import add_user
from tests.api.tokens_util import hs256_with_public_key

PROTECTED = ["/me/profile", "/me/platforms", "/me/is-general-admin", "/admin/users"]


def _defects(api) -> dict[str, str | None]:  # type: ignore[no-untyped-def]
    fake = api.fake
    public_pem = (
        pooled_key(0)
        .private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    valid = api.token("auth0|alice")
    import jwt

    claims = jwt.decode(valid, options={"verify_signature": False})
    return {
        "none": None,
        "malformed": "Bearer not.a.token",
        "not a JWT at all": "Bearer abc",
        "wrong scheme": f"Basic {valid}",
        "empty bearer": "Bearer ",
        "expired": f"Bearer {fake.mint_token('auth0|alice', expires_in=-300)}",
        "wrong audience": f"Bearer {fake.mint_token('auth0|alice', audience='https://other')}",
        "wrong issuer": f"Bearer {fake.mint_token('auth0|alice', issuer='https://evil/')}",
        "alg none": f"Bearer {fake.mint_token('auth0|alice', alg='none')}",
        "HS256 with client secret": f"Bearer {fake.mint_token('auth0|alice', alg='HS256')}",
        "HS256 with the public key": "Bearer "
        + hs256_with_public_key(claims, public_pem, kid=fake.active_kid),
        "unknown kid": f"Bearer {fake.mint_token('auth0|alice', kid='no-such-kid')}",
        "missing kid": "Bearer " + jwt.encode(claims, pooled_key(0).private_key, algorithm="RS256"),
        "tampered payload": "Bearer " + _tamper(valid),
    }


def _tamper(token: str) -> str:
    header, payload, signature = token.split(".")
    return ".".join(
        [header, payload[:-4] + ("AAAA" if payload[-4:] != "AAAA" else "BBBB"), signature]
    )


def test_every_token_defect_is_401_with_bearer_challenge(api):
    defects = _defects(api)
    for path in PROTECTED:
        for name, value in defects.items():
            headers = {} if value is None else {"Authorization": value}
            response = api.client.get(path, headers=headers)
            assert response.status_code == 401, (path, name, response.text)
            assert response.headers["www-authenticate"] == "Bearer", (path, name)
            assert response.json()["message"], (path, name)


def test_valid_token_passes(api):
    add_user(api.db_url, "auth0|alice")
    assert api.get("/me/platforms").status_code == 200


def test_tokens_of_old_and_rotated_keys_are_both_accepted(api):
    add_user(api.db_url, "auth0|alice")
    old_token = api.token("auth0|alice")
    api.fake.rotate_key()  # the JWKS now lists both keys
    new_token = api.token("auth0|alice")
    assert old_token.split(".")[0] != new_token.split(".")[0]  # different kids
    for token in (new_token, old_token):
        response = api.client.get("/me/platforms", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200


def test_garbage_kids_do_not_hammer_the_jwks(api):
    add_user(api.db_url, "auth0|alice")
    assert api.get("/me/platforms").status_code == 200
    before = len(api.fake.requests_to("/.well-known/jwks.json"))
    for i in range(30):
        token = api.fake.mint_token("auth0|alice", kid=f"garbage-{i}")
        response = api.client.get("/me/platforms", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
    assert len(api.fake.requests_to("/.well-known/jwks.json")) - before <= 1


def test_authentication_not_configured_is_503_and_health_still_works(db_url):
    from api.app import create_app

    client = TestClient(create_app())
    response = client.get("/me/profile", headers={"Authorization": "Bearer x.y.z"})
    assert response.status_code == 503
    assert "AUTH0_AUDIENCE" in response.json()["message"]
    assert client.get("/healthz").json() == {"status": "ok"}


def test_jwks_unreachable_is_503_not_401_or_500(db_url, settings_env, fake_auth0):
    from api.app import create_app

    settings_env(
        AUTH0_AUDIENCE=fake_auth0.api_audience,
        AUTH0_ISSUER=fake_auth0.issuer,
        AUTH0_JWKS_URL="http://127.0.0.1:9/.well-known/jwks.json",
    )
    client = TestClient(create_app())
    token = fake_auth0.mint_token("auth0|alice")
    response = client.get("/me/platforms", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 503


@pytest.mark.parametrize("path", ["/admin/users", "/admin/users/counts", "/admin/filters"])
def test_admin_routes_refuse_a_caller_without_admin_roles(api, path):
    response = api.get(path, roles=["biocommons/platform/galaxy"])
    assert response.status_code == 403
    assert "admin" in response.json()["message"]


def test_expired_by_less_than_the_leeway_is_accepted(api):
    add_user(api.db_url, "auth0|alice")
    token = api.fake.mint_token("auth0|alice", extra_claims={"exp": int(time.time()) - 5})
    response = api.client.get("/me/platforms", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
