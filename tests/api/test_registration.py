"""POST /biocommons/register and /sbp/register through the app: real local Auth0, real
SMTP, SQLite and Postgres; existing accounts left alone, partial failures finished by the
`registrations` job."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import select

from aai_cli import db
from aai_cli.models import GroupMembership, PlatformMembership, User, utcnow
from aai_cli.services.scheduler.jobs import default_jobs
from aai_cli.services.scheduler.runner import run_job
from aai_cli.settings import get_settings
from tests.api.conftest import add_user
from tests.api.registration_util import (
    WatchingGateway,
    memberships_fail,
    records,
    row_counts,
)

PASSWORD = "Str0ng!pass"
TSI_ADMIN = "biocommons/role/tsi/admin"
TSI = "biocommons/group/tsi"


def body(**overrides):
    values = {
        "first_name": "Jane",
        "last_name": "Doe",
        "email": "jane@uni.edu.au",
        "username": "jane",
        "password": PASSWORD,
        "recaptcha_token": "token-from-the-widget",
        "bundles": [{"bundle_id": "tsi", "reason": "genomics"}],
    }
    return {**values, **overrides}


def creates(fake) -> int:
    """User creations (POST /api/v2/users itself, not /users/{id}/roles)."""
    return len([r for r in fake.requests_to("/api/v2/users", "POST") if r.path == "/api/v2/users"])


def role_pushes(fake) -> int:
    return len(fake.requests_to("/api/v2/users/", "POST"))  # /api/v2/users/{id}/roles


def users(db_url):
    with db.session_scope(db_url) as session:
        return [(u.email, u.username) for u in session.exec(select(User))]


def statuses(db_url, user_id):
    with db.session_scope(db_url) as session:
        rows = session.exec(
            select(PlatformMembership.platform_id, PlatformMembership.status).where(
                PlatformMembership.user_id == user_id
            )
        ).all()
        rows += session.exec(
            select(GroupMembership.group_id, GroupMembership.status).where(
                GroupMembership.user_id == user_id
            )
        ).all()
        return dict(rows)


def access_roles(api):
    for platform in ("galaxy", "bpa_data_portal"):
        api.fake.add_role(f"biocommons/platform/{platform}")
    api.fake.add_role(TSI)


def job(name: str):
    [spec] = [j for j in default_jobs(get_settings()) if j.name == name]
    return spec


def test_register_then_emails_reach_the_user_and_the_bundle_admins(api, smtp_env):
    access_roles(api)
    role_id = api.fake.add_role(TSI_ADMIN)["id"]
    api.fake.assign_role(api.fake.add_user(email="tsi-admin@example.org")["user_id"], role_id)
    evil = '<script>alert("x")</script>'
    response = api.client.post("/biocommons/register", json=body(first_name=evil))
    assert response.status_code == 201, response.text
    data = response.json()
    assert data["message"] == "registered"
    assert data["user_id"].startswith("auth0|")
    assert {(m["id"], m["status"]) for m in data["memberships"]} == {
        ("galaxy", "approved"),
        ("bpa_data_portal", "approved"),
        (TSI, "pending"),
    }
    assert "password" not in response.text and PASSWORD not in response.text
    # delivered by the background task after commit
    to_jane = smtp_env.to("jane@uni.edu.au")
    admin = smtp_env.to("tsi-admin@example.org")
    assert (len(to_jane), len(admin)) == (2, 1)
    subjects = sorted(m.message["Subject"].strip() for m in to_jane)
    assert subjects == [
        "Your Australian BioCommons account has been created",
        "Your Threatened Species Initiative Service Bundle request has been received",
    ]
    for message in [*to_jane, admin[0]]:
        html = message.part("html")
        assert "<script>" not in html
    assert "&lt;script&gt;" in admin[0].part("html")
    assert "Threatened Species Initiative" in admin[0].message["Subject"]
    # the auto-approved platforms' roles were pushed to Auth0 after commit
    assert sorted(api.fake.user_roles(data["user_id"])) == [
        "biocommons/platform/bpa_data_portal",
        "biocommons/platform/galaxy",
    ]


def test_registering_an_existing_account_again_is_409_and_changes_nothing(api, smtp_env):
    access_roles(api)
    first = api.client.post("/biocommons/register", json=body())
    assert first.status_code == 201, first.text
    before = row_counts(api.db_url)
    mails, pushes = len(smtp_env.messages), role_pushes(api.fake)
    again = api.client.post(
        "/biocommons/register",
        json=body(
            email="JANE@uni.edu.au",
            first_name="Mallory",
            bundles=[{"bundle_id": "tsi", "reason": "approve me"}],
        ),
    )
    assert again.status_code == 409, again.text
    assert again.json() == {
        "message": "Username and email are already taken",
        "field_errors": [
            {"field": "username", "message": "Username is already taken"},
            {"field": "email", "message": "Email is already taken"},
        ],
        "detail": "Username and email are already taken",
    }
    assert row_counts(api.db_url) == before  # no membership, event, outbox row or record
    assert (len(smtp_env.messages), role_pushes(api.fake), creates(api.fake)) == (mails, pushes, 1)
    with db.session_scope(api.db_url) as session:
        assert session.exec(select(User.given_name)).all() == ["Jane"]


def test_a_soft_deleted_account_keeps_its_email_and_username(api):
    add_user(api.db_url, "auth0|gone", email="jane@uni.edu.au", username="old", deleted_at=utcnow())
    add_user(api.db_url, "auth0|old", email="old@uni.edu.au", username="jane", deleted_at=utcnow())
    before = row_counts(api.db_url)
    response = api.client.post("/biocommons/register", json=body())
    assert response.status_code == 409
    assert response.json()["message"] == "Username and email are already taken"
    assert (row_counts(api.db_url), creates(api.fake)) == (before, 0)


INVALID = [
    (body(username="Jane"), "username"),
    (body(username="ab"), "username"),
    (body(password="weakpassword"), "password"),
    (body(password="Aa1!" * 19), "password"),
    (body(email="not-an-email"), "email"),
    (body(bundles=[{"bundle_id": "nope"}]), "bundles"),
    (body(bundles=[{"bundle_id": "tsi", "reason": "r" * 256}]), "bundles"),
    (body(bundles=[{"reason": "no id"}]), "bundles.0.bundle_id"),
    (body(bundles=None, bundle="nope"), "bundle"),
    ({k: v for k, v in body().items() if k != "username"}, "username"),
    (body(first_name=123), "first_name"),
    (body(first_name="Ja\x00ne"), "first_name"),
    (body(bundles=[{"bundle_id": "ts\x00i"}]), "bundles"),
    (body(bundles=None, bundle="tsi", reason="a\x00b"), "reason"),
    (body(password="Str0ng!pa\x00ss"), "password"),
]


def test_invalid_fields_are_400_with_field_errors(api):
    for i, (payload, field) in enumerate(INVALID):
        client = TestClient(api.client.app, client=(f"198.51.100.{i}", 5000))  # own rate limit
        response = client.post("/biocommons/register", json=payload)
        assert response.status_code == 400, (payload, response.text)
        data = response.json()
        assert data["message"] and data["detail"] == data["message"]
        assert field in [e["field"] for e in data["field_errors"]], (payload, data)
    assert creates(api.fake) == 0
    assert row_counts(api.db_url)["registrations"] == 0


def test_malformed_json_is_400(api):
    response = api.client.post(
        "/biocommons/register",
        content=b'{"email": "x@uni.edu.au",',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["field_errors"] == [{"field": "body", "message": "malformed JSON"}]


def test_the_older_single_bundle_fields_still_work(api):
    payload = body(bundles=None, bundle="tsi", reason="the older form")
    response = api.client.post("/biocommons/register", json=payload)
    assert response.status_code == 201, response.text
    with db.session_scope(api.db_url) as session:
        assert session.exec(select(GroupMembership.request_reason)).one() == "the older form"


def test_taken_in_auth0_only_is_409_naming_the_field(api):
    api.fake.add_user(email="jane@uni.edu.au", username="someone-else")
    response = api.client.post("/biocommons/register", json=body())
    assert response.status_code == 409
    assert response.json()["field_errors"] == [
        {"field": "email", "message": "Email is already taken"}
    ]
    assert users(api.db_url) == []
    assert records(api.db_url) == [("jane@uni.edu.au", "failed", 0)]


def test_sbp_only_for_allowed_domains(api, settings_env):
    settings_env(SBP_ALLOWED_EMAIL_DOMAINS='["uni.edu.au"]')
    payload = {k: v for k, v in body().items() if k != "bundles"}
    refused = api.client.post("/sbp/register", json={**payload, "email": "jane@evil.example"})
    assert refused.status_code == 400
    assert [e["field"] for e in refused.json()["field_errors"]] == ["email"]
    ok = api.client.post("/sbp/register", json=payload)
    assert ok.status_code == 201, ok.text
    assert [(m["id"], m["status"]) for m in ok.json()["memberships"]] == [("sbp", "pending")]
    for path, query in (
        ("/utils/registration_info", {"user_email": "jane@uni.edu.au"}),
        ("/utils/register/registration-info", {"email": "JANE@uni.edu.au"}),
    ):
        assert api.client.get(path, params=query).json()["app"] == "sbp"


def test_auth0_failing_is_503_and_a_retry_registers(api):
    api.fake.fail_next(1, 503, path_prefix="/api/v2/users")
    failed = api.client.post("/biocommons/register", json=body())
    assert failed.status_code == 503
    message = "the account service is unavailable at the moment: please try again in a few minutes"
    assert failed.json() == {"message": message, "field_errors": [], "detail": message}
    assert users(api.db_url) == []
    retried = api.client.post("/biocommons/register", json=body())
    assert retried.status_code == 201
    assert retried.json()["message"] == "registered"


def test_database_failing_after_auth0_is_finished_by_the_job(api, backend, smtp_env):
    access_roles(api)
    with memberships_fail(api.db_url, backend):
        deferred = api.client.post("/biocommons/register", json=body())
    assert deferred.status_code == 202, deferred.text
    data = deferred.json()
    assert data["user_id"].startswith("auth0|") and data["memberships"] == []
    assert "recorded in a few minutes" in data["message"]
    assert users(api.db_url) == []  # rolled back as a whole
    [remote] = api.fake.users
    assert remote["username"] == "jane"  # the person can sign in meanwhile
    # the same email and username again: refused, never adopted
    retry = api.client.post("/biocommons/register", json=body())
    assert retry.status_code == 409
    assert users(api.db_url) == []

    later = lambda: utcnow() + timedelta(minutes=5)  # noqa: E731
    outcome = run_job(job("registrations"), clock=later)
    assert outcome.status == "succeeded", outcome.detail
    assert statuses(api.db_url, remote["user_id"]) == {
        "galaxy": "approved",
        "bpa_data_portal": "approved",
        TSI: "pending",
    }
    assert run_job(job("auth0-outbox"), clock=later).status == "succeeded"
    assert sorted(api.fake.user_roles(remote["user_id"])) == [
        "biocommons/platform/bpa_data_portal",
        "biocommons/platform/galaxy",
    ]
    assert run_job(job("email-outbox"), clock=later).status == "succeeded"
    assert len(smtp_env.to("jane@uni.edu.au")) == 2


def test_no_transaction_is_held_while_auth0_answers(api):
    from aai_cli.services.auth0 import get_gateway

    watching = WatchingGateway(get_gateway(), api.db_url)
    api.client.app.state.user_source = lambda: watching
    response = api.client.post("/biocommons/register", json=body())
    assert response.status_code == 201, response.text
    assert watching.seen == [("create_user", {"checked_out": 0, "writer_blocked": False})]


def test_registration_without_auth0_configured_is_503(db_url, recaptcha_env):
    from api.app import create_app

    with TestClient(create_app()) as client:
        response = client.post("/biocommons/register", json=body())
    assert response.status_code == 503
    assert "Auth0" in response.json()["message"]


def test_a_retired_bundle_is_not_offered(api):
    with db.session_scope(api.db_url) as session:
        from aai_cli.models import Group

        session.add(Group(id="biocommons/group/bpa_galaxy", name="Old", short_name="BG"))
        session.flush()
        session.get(Group, "biocommons/group/bpa_galaxy").retired_at = utcnow()
    response = api.client.post(
        "/biocommons/register", json=body(bundles=[{"bundle_id": "bpa_galaxy"}])
    )
    assert response.status_code == 400
    assert response.json()["field_errors"] == [
        {
            "field": "bundles",
            "message": "unknown bundle (one of: sbp_workflow_execution, tsi)",
        }
    ]
    assert creates(api.fake) == 0


def test_sbp_registration_switched_off_is_404_before_any_check(api, settings_env):
    settings_env(SBP_REGISTRATION_ENABLED="false")
    response = api.client.post("/sbp/register", json=body(email="ada@biocommons.org.au"))
    assert response.status_code == 404
    assert api.recaptcha.requests == []
    assert creates(api.fake) == 0
