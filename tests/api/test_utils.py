"""GET /utils/*: availability and registration info, from the database only."""

from __future__ import annotations

from fastapi.testclient import TestClient

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
    assert response.json()["app"] == "biocommons"
    for odd in ("a\x00b@x.org", "not an email", ""):
        response = api.client.get("/utils/registration_info", params={"user_email": odd})
        assert response.json()["app"] == "biocommons"
    nul = api.client.get("/utils/email-available", params={"email": "a\x00@x.org"}).json()
    assert nul["available"] is False


def test_missing_parameter_is_400(api):
    response = api.client.get("/utils/email-available")
    assert response.status_code == 400
    assert response.json()["field_errors"][0]["field"] == "query.email"


def test_the_register_paths_answer_as_the_older_ones(api):
    _add(api.db_url, id="auth0|x", email="x@uni.edu.au", username="taken")
    pairs = [
        ("/utils/username-available", "/utils/register/username-availability", "username"),
        ("/utils/email-available", "/utils/register/email-availability", "email"),
    ]
    for i, (old, new, name) in enumerate(pairs):
        client = TestClient(api.client.app, client=(f"198.51.100.{i}", 5000))  # own rate limit
        for value in ("taken", "x@uni.edu.au", "free", "free@uni.edu.au", "Bad Name"):
            answers = [client.get(p, params={name: value}).json() for p in (old, new)]
            assert answers[0] == answers[1], (name, value)
    taken = api.client.get("/utils/register/username-availability", params={"username": "taken"})
    assert taken.json() == {
        "available": False,
        "field_errors": [{"field": "username", "message": "Username is already taken"}],
    }


def test_deleted_accounts_and_other_cases_are_taken(api):
    from aai_cli.models import utcnow

    _add(api.db_url, id="auth0|gone", email="Gone@Uni.edu.au", username="Gone", deleted_at=utcnow())
    email = api.client.get(
        "/utils/register/email-availability", params={"email": "gone@uni.edu.au"}
    )
    assert email.json()["available"] is False
    name = api.client.get("/utils/register/username-availability", params={"username": "gone"})
    assert name.json()["available"] is False


CHECK = "/utils/register/check-australian-research-institution"


def test_institution_check_asks_the_validation_service(api, institution_env):
    yes = api.client.get(CHECK, params={"email": "ada@uni.edu.au"})
    assert (yes.status_code, yes.json()) == (200, {"is_australian_research_institution": True})
    no = api.client.get(CHECK, params={"email": "ada@gmail.com"})
    assert (no.status_code, no.json()) == (200, {"is_australian_research_institution": False})
    assert institution_env.requests == ["ada@uni.edu.au", "ada@gmail.com"]


def test_institution_check_always_accepts_biocommons_and_the_sbp_domains(
    api, institution_env, settings_env
):

    settings_env(SBP_ALLOWED_EMAIL_DOMAINS='["partner.org"]')
    for email in ("ada@biocommons.org.au", "ada@PARTNER.org"):
        answer = api.client.get(CHECK, params={"email": email}).json()
        assert answer == {"is_australian_research_institution": True}
    assert institution_env.requests == []


def test_institution_check_failing_upstream_is_503_never_false(api, institution_env):
    institution_env.answer_next(500, {"error": "boom"})
    institution_env.answer_next(200, {"valid": "yes"})
    institution_env.answer_next(200, ["not", "an", "object"])
    for _ in range(3):
        response = api.client.get(CHECK, params={"email": "ada@gmail.com"})
        assert response.status_code == 503
        detail = response.json()["detail"]
        assert isinstance(detail, str) and "institution check is unavailable" in detail


def test_institution_check_unreachable_is_503(api, settings_env):

    settings_env(INSTITUTION_CHECK_URL="http://127.0.0.1:9/institution/validate")
    response = api.client.get(CHECK, params={"email": "ada@gmail.com"})
    assert response.status_code == 503 and "unavailable" in response.json()["detail"]


def test_institution_check_bad_email_is_400(api, institution_env):
    for bad in ("not-an-email", "a\x00@uni.edu.au", ""):
        response = api.client.get(CHECK, params={"email": bad})
        assert response.status_code == 400
        assert response.json()["field_errors"][0]["field"] == "email"
    assert api.client.get(CHECK).status_code == 400
    assert institution_env.requests == []


def test_registration_info_offers_the_catalogs_bundles(api):
    response = api.client.get("/utils/register/registration-info", params={"email": "a@x.org"})
    assert response.json()["bundles"] == [
        {
            "bundle_id": "sbp_workflow_execution",
            "group_id": "biocommons/group/sbp_workflow_execution",
            "name": "Structural Biology Platform Bundle",
            "short_name": "SBP",
        },
        {
            "bundle_id": "tsi",
            "group_id": "biocommons/group/tsi",
            "name": "Threatened Species Initiative",
            "short_name": "TSI",
        },
    ]
