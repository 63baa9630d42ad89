"""GET /utils/*: availability and registration info, from the database only."""

from __future__ import annotations

from aai_cli import db
from aai_cli.models import User


def _add(db_url, **fields):
    with db.session_scope(db_url) as session:
        session.add(User(**fields))


def test_username_available(api):
    _add(api.db_url, id="auth0|x", email="x@uni.edu.au", username="taken")
    free = api.client.get("/utils/username-available", params={"username": "free"})
    assert free.json() == {"available": True, "field_errors": []}
    taken = api.client.get("/utils/username-available", params={"username": "taken"}).json()
    assert taken["available"] is False
    assert taken["field_errors"][0]["field"] == "username"
    bad = api.client.get("/utils/username-available", params={"username": "Bad Name"}).json()
    assert bad["available"] is False and "lowercase" in bad["field_errors"][0]["message"]
    assert api.fake.requests_to("/api/v2/") == []


def test_email_available(api):
    _add(api.db_url, id="auth0|x", email="x@uni.edu.au", username="x")
    _add(api.db_url, id="google-oauth2|1", email="g@uni.edu.au")
    get = lambda e: api.client.get("/utils/email-available", params={"email": e}).json()  # noqa: E731
    assert get("X@uni.edu.au")["available"] is False
    assert get("g@uni.edu.au")["available"] is True  # a social login does not block
    assert get("new@uni.edu.au") == {"available": True, "field_errors": []}
    assert get("nope")["field_errors"][0]["field"] == "email"


def test_registration_info_never_reveals_existence(api):
    response = api.client.get("/utils/registration_info", params={"user_email": "who@x.org"})
    assert response.status_code == 200
    assert response.json() == {"app": "biocommons"}
    for odd in ("a\x00b@x.org", "not an email", ""):
        response = api.client.get("/utils/registration_info", params={"user_email": odd})
        assert response.json() == {"app": "biocommons"}
    nul = api.client.get("/utils/email-available", params={"email": "a\x00@x.org"}).json()
    assert nul["available"] is False


def test_missing_parameter_is_400(api):
    response = api.client.get("/utils/email-available")
    assert response.status_code == 400
    assert response.json()["field_errors"][0]["field"] == "query.email"
