"""The portal's registration calls, built exactly as the portal builds them: no bearer
token, `Content-Type: application/json`, its body field names and query names.

- POST /biocommons/register: first_name, last_name, email (domain lowercased), username,
  password, recaptcha_token, and `bundles` ([{bundle_id, reason?}], omitted when none).
  The portal needs a non-null JSON body on 2xx, reads `message` and `field_errors`
  (`email`, `username` only for business errors) on errors.
- GET /utils/register/check-australian-research-institution?email=: public, answers
  {is_australian_research_institution}; an inconclusive check must not answer `false`.
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import select

from aai_cli import db
from aai_cli.models import GroupMembership, PlatformMembership
from tests.api.registration_util import SBP_BUNDLE, row_counts

HEADERS = {"Content-Type": "application/json"}  # the portal's interceptor adds no bearer here
TSI = "biocommons/group/tsi"
TSI_ADMIN = "biocommons/role/tsi/admin"


def portal_body(*bundles: dict, **overrides) -> dict:
    body = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@uni.edu.au",
        "username": "ada_l",
        "password": "Str0ng!pass",
        "recaptcha_token": "03AFcWeA6...widget-response",
    }
    if bundles:
        body["bundles"] = list(bundles)
    return {**body, **overrides}


def register(api, body: dict, client: TestClient | None = None):  # type: ignore[no-untyped-def]
    return (client or api.client).post("/biocommons/register", json=body, headers=HEADERS)


def memberships(db_url: str) -> dict[str, tuple[str, str | None]]:
    with db.session_scope(db_url, readonly=True) as session:
        platforms = session.exec(select(PlatformMembership)).all()
        groups = session.exec(select(GroupMembership)).all()
        return {m.platform_id: (m.status, m.request_reason) for m in platforms} | {
            m.group_id: (m.status, m.request_reason) for m in groups
        }


def creates(fake) -> int:
    return len([r for r in fake.requests_to("/api/v2/users", "POST") if r.path == "/api/v2/users"])


def test_c30_register_with_a_tsi_bundle(api, smtp_env):
    for role in ("biocommons/platform/galaxy", "biocommons/platform/bpa_data_portal", TSI):
        api.fake.add_role(role)
    admin_role = api.fake.add_role(TSI_ADMIN)["id"]
    api.fake.assign_role(api.fake.add_user(email="tsi-admin@example.org")["user_id"], admin_role)
    response = register(api, portal_body({"bundle_id": "tsi", "reason": "Koala genomics"}))
    assert 200 <= response.status_code < 300, response.text
    assert response.json() is not None and response.json()["message"] == "registered"
    assert memberships(api.db_url) == {
        "galaxy": ("approved", None),
        "bpa_data_portal": ("approved", None),
        TSI: ("pending", "Koala genomics"),
    }
    remote = api.fake.get_user(response.json()["user_id"])
    assert remote["email_verified"] is False
    assert (remote["name"], remote["given_name"], remote["family_name"]) == (
        "Ada Lovelace",
        "Ada",
        "Lovelace",
    )
    assert remote["app_metadata"]["registration_from"] == "biocommons"
    assert sorted(api.fake.user_roles(remote["user_id"])) == [
        "biocommons/platform/bpa_data_portal",
        "biocommons/platform/galaxy",
    ]
    [request] = smtp_env.to("tsi-admin@example.org")
    assert "Koala genomics" in request.part("plain")
    received = [m.message["Subject"].strip() for m in smtp_env.to("ada@uni.edu.au")]
    assert "Your Threatened Species Initiative Service Bundle request has been received" in received


def test_c30_register_without_bundles_omits_the_key(api):
    body = portal_body()
    assert "bundles" not in body
    response = register(api, body)
    assert response.status_code == 201 and response.json() is not None
    assert memberships(api.db_url) == {
        "galaxy": ("approved", None),
        "bpa_data_portal": ("approved", None),
    }


def test_c30_sbp_workflow_execution_without_a_reason(api, institution_env):
    response = register(api, portal_body({"bundle_id": "sbp_workflow_execution"}))
    assert response.status_code == 201, response.text
    assert memberships(api.db_url)[SBP_BUNDLE] == ("pending", None)
    assert institution_env.requests == ["ada@uni.edu.au"]


def test_c30_sbp_workflow_execution_needs_an_institutional_email(api, institution_env):
    body = portal_body({"bundle_id": "sbp_workflow_execution"}, email="ada@gmail.com")
    response = register(api, body)
    assert response.status_code == 400
    message = "SBP workflow execution requires an Australian institutional email address."
    assert response.json() == {
        "message": message,
        "field_errors": [
            {
                "field": "email",
                "message": "Please use an Australian institutional email address if applying "
                "for SBP workflow execution access.",
            }
        ],
        "detail": message,
    }
    assert (creates(api.fake), row_counts(api.db_url)["registrations"]) == (0, 0)


def test_c30_both_bundles_duplicates_collapsed(api, institution_env):
    body = portal_body(
        {"bundle_id": "tsi", "reason": "Koala genomics"},
        {"bundle_id": "sbp_workflow_execution"},
        {"bundle_id": "tsi", "reason": "Koala genomics"},
    )
    assert register(api, body).status_code == 201
    groups = {k: v for k, v in memberships(api.db_url).items() if k.startswith("biocommons/")}
    assert groups == {TSI: ("pending", "Koala genomics"), SBP_BUNDLE: ("pending", None)}


def test_c30_taken_username_and_email_use_only_portal_field_names(api):
    assert register(api, portal_body()).status_code == 201
    cases = [
        (portal_body(email="other@uni.edu.au"), "Username is already taken", ["username"]),
        (portal_body(username="other"), "Email is already taken", ["email"]),
        (portal_body(), "Username and email are already taken", ["username", "email"]),
    ]
    for i, (body, message, fields) in enumerate(cases):
        client = TestClient(api.client.app, client=(f"198.51.100.{i}", 5000))
        response = register(api, body, client)
        assert response.status_code == 409
        data = response.json()
        assert (data["message"], data["detail"]) == (message, message)
        assert [e["field"] for e in data["field_errors"]] == fields
    assert creates(api.fake) == 1


def test_c30_unknown_bundle_and_long_reason_are_400(api):
    cases = [
        portal_body({"bundle_id": "bpa_galaxy_typo"}),
        portal_body({"bundle_id": "tsi", "reason": "x" * 256}),
    ]
    for i, body in enumerate(cases):
        client = TestClient(api.client.app, client=(f"198.51.100.{i}", 5000))
        response = register(api, body, client)
        assert response.status_code == 400
        data = response.json()
        assert isinstance(data["message"], str) and isinstance(data["detail"], str)
        assert [e["field"] for e in data["field_errors"]] == ["bundles"]
    assert creates(api.fake) == 0


def test_c30_a_missing_recaptcha_token_is_refused_before_auth0(api):
    body = portal_body()
    del body["recaptcha_token"]
    response = register(api, body)
    assert response.status_code == 400
    assert response.json() == {
        "message": "Recaptcha token is required",
        "detail": "Recaptcha token is required",
        "field_errors": [],
    }
    assert api.recaptcha.requests == []
    assert creates(api.fake) == 0


def test_c30_a_refused_recaptcha_token_is_400_and_creates_nobody(api):
    api.recaptcha.refused.add("03AFcWeA6...widget-response")
    response = register(api, portal_body())
    assert response.status_code == 400
    assert response.json()["message"] == "Invalid recaptcha token, please try again"
    # no field error: the portal would keep a stored `recaptcha_token` error and block
    # every later submit until the page is reloaded
    assert response.json()["field_errors"] == []
    assert creates(api.fake) == 0


def test_c30_the_token_is_verified_with_the_secret_and_no_remote_ip(api):
    assert register(api, portal_body()).status_code == 201
    assert api.recaptcha.requests == [
        {"secret": "local-recaptcha-secret", "response": "03AFcWeA6...widget-response"}
    ]


CHECK = "/utils/register/check-australian-research-institution"


def test_c31_without_a_bearer_token(api, institution_env):
    yes = api.client.get(CHECK, params={"email": "ada@uni.edu.au"}, headers=HEADERS)
    assert (yes.status_code, yes.json()) == (200, {"is_australian_research_institution": True})
    no = api.client.get(CHECK, params={"email": "ada@gmail.com"}, headers=HEADERS)
    assert no.json() == {"is_australian_research_institution": False}


def test_c31_an_inconclusive_check_is_an_error_not_false(api, institution_env):
    institution_env.answer_next(502, {"error": "bad gateway"})
    response = api.client.get(CHECK, params={"email": "ada@gmail.com"}, headers=HEADERS)
    assert response.status_code == 503
    assert "is_australian_research_institution" not in response.json()
    assert isinstance(response.json()["detail"], str)


def test_register_utils_without_a_bearer_token(api):
    free = api.client.get(
        "/utils/register/username-availability", params={"username": "ada_l"}, headers=HEADERS
    )
    assert free.json() == {"available": True, "field_errors": []}
    email = api.client.get(
        "/utils/register/email-availability", params={"email": "ada@uni.edu.au"}, headers=HEADERS
    )
    assert email.json() == {"available": True, "field_errors": []}
    info = api.client.get(
        "/utils/register/registration-info", params={"email": "ada@uni.edu.au"}, headers=HEADERS
    )
    assert info.json()["app"] == "biocommons"
