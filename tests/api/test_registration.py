"""POST /biocommons/register and /sbp/register through the app: real local Auth0, real
SMTP, SQLite and Postgres; partial failures and retries."""

from __future__ import annotations

import contextlib

from sqlalchemy import text
from sqlmodel import select

from aai_cli import db
from aai_cli.models import GroupMembership, PlatformMembership, User

PASSWORD = "Str0ng!pass"
TSI_ADMIN = "biocommons/role/tsi/admin"


def body(**overrides):
    values = {
        "first_name": "Jane",
        "last_name": "Doe",
        "email": "jane@uni.edu.au",
        "username": "jane",
        "password": PASSWORD,
        "bundle": "tsi",
        "reason": "genomics",
    }
    return {**values, **overrides}


def creates(fake) -> int:
    """User creations (POST /api/v2/users itself, not /users/{id}/roles)."""
    return len([r for r in fake.requests_to("/api/v2/users", "POST") if r.path == "/api/v2/users"])


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


def outbox_state(db_url):
    """The outbox rows, to explain a delivery that did not happen."""
    from aai_cli.models import EmailMessage

    with db.session_scope(db_url) as session:
        return [
            (m.to_address, m.status, m.attempts, m.last_error)
            for m in session.exec(select(EmailMessage).order_by(EmailMessage.id))
        ]


@contextlib.contextmanager
def memberships_fail(db_url, backend):
    """A real database failure: inserts into platform_memberships raise until the block ends."""
    engine = db.get_engine(db_url)
    with engine.begin() as c:
        if backend == "sqlite":
            c.execute(
                text(
                    "CREATE TRIGGER aai_test_fail BEFORE INSERT ON platform_memberships "
                    "BEGIN SELECT RAISE(ABORT, 'simulated failure'); END"
                )
            )
        else:
            c.execute(
                text(
                    "CREATE FUNCTION aai_test_fail() RETURNS trigger AS $$ BEGIN "
                    "RAISE EXCEPTION 'simulated failure'; END $$ LANGUAGE plpgsql"
                )
            )
            c.execute(
                text(
                    "CREATE TRIGGER aai_test_fail BEFORE INSERT ON platform_memberships "
                    "FOR EACH ROW EXECUTE FUNCTION aai_test_fail()"
                )
            )
    try:
        yield
    finally:
        with engine.begin() as c:
            if backend == "sqlite":
                c.execute(text("DROP TRIGGER aai_test_fail"))
            else:
                c.execute(text("DROP TRIGGER aai_test_fail ON platform_memberships"))
                c.execute(text("DROP FUNCTION aai_test_fail()"))


def test_register_then_emails_reach_the_user_and_the_bundle_admins(api, smtp_env):
    for platform in ("galaxy", "bpa_data_portal"):
        api.fake.add_role(f"biocommons/platform/{platform}")
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
        ("biocommons/group/tsi", "pending"),
    }
    assert "password" not in response.text and PASSWORD not in response.text
    # delivered by the background task after commit
    welcome = smtp_env.to("jane@uni.edu.au")
    admin = smtp_env.to("tsi-admin@example.org")
    assert (len(welcome), len(admin)) == (1, 1), outbox_state(api.db_url)
    request = admin[0]
    for message in (welcome[0], request):
        html = message.part("html")
        assert "<script>" not in html and "&lt;script&gt;" in html
    assert "Threatened Species Initiative" in request.message["Subject"]
    assert statuses(api.db_url, data["user_id"])["biocommons/group/tsi"] == "pending"
    # the auto-approved platforms' roles were pushed to Auth0 after commit
    assert sorted(api.fake.user_roles(data["user_id"])) == [
        "biocommons/platform/bpa_data_portal",
        "biocommons/platform/galaxy",
    ]


def test_a_retry_says_already_registered(api):
    assert api.client.post("/biocommons/register", json=body()).status_code == 201
    again = api.client.post("/biocommons/register", json=body(email="JANE@uni.edu.au"))
    assert again.status_code == 200
    assert again.json()["message"] == "already registered"
    assert "user_id" not in again.json() or again.json()["user_id"] is None
    assert creates(api.fake) == 1
    assert users(api.db_url) == [("jane@uni.edu.au", "jane")]


INVALID = [
    (body(username="Jane"), "username"),
    (body(username="ab"), "username"),
    (body(password="weakpassword"), "password"),
    (body(password="Aa1!" * 19), "password"),
    (body(email="not-an-email"), "email"),
    (body(bundle="nope"), "bundle"),
    ({k: v for k, v in body().items() if k != "username"}, "username"),
    (body(first_name=123), "first_name"),
    (body(first_name="Ja\x00ne"), "first_name"),
    (body(bundle="ts\x00i"), "bundle"),
    (body(reason="a\x00b"), "reason"),
    (body(password="Str0ng!pa\x00ss"), "password"),
]


def test_invalid_fields_are_400_with_field_errors(api):
    from fastapi.testclient import TestClient

    for i, (payload, field) in enumerate(INVALID):
        client = TestClient(api.client.app, client=(f"198.51.100.{i}", 5000))  # own rate limit
        response = client.post("/biocommons/register", json=payload)
        assert response.status_code == 400, (payload, response.text)
        data = response.json()
        assert data["message"]
        assert field in [e["field"] for e in data["field_errors"]], (payload, data)
    assert creates(api.fake) == 0


def test_malformed_json_is_400(api):
    response = api.client.post(
        "/biocommons/register",
        content=b'{"email": "x@uni.edu.au",',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["field_errors"] == [{"field": "body", "message": "malformed JSON"}]


def test_taken_email_is_409(api):
    api.fake.add_user(email="jane@uni.edu.au", username="someone-else")
    response = api.client.post("/biocommons/register", json=body())
    assert response.status_code == 409
    assert "email" in response.json()["message"]
    assert users(api.db_url) == []


def test_sbp_only_for_allowed_domains(api, monkeypatch):
    from aai_cli.settings import get_settings

    monkeypatch.setenv("SBP_ALLOWED_EMAIL_DOMAINS", '["uni.edu.au"]')
    get_settings.cache_clear()
    payload = {k: v for k, v in body().items() if k != "bundle"}
    refused = api.client.post("/sbp/register", json={**payload, "email": "jane@evil.example"})
    assert refused.status_code == 400
    assert [e["field"] for e in refused.json()["field_errors"]] == ["email"]
    ok = api.client.post("/sbp/register", json=payload)
    assert ok.status_code == 201, ok.text
    assert [(m["id"], m["status"]) for m in ok.json()["memberships"]] == [("sbp", "pending")]
    info = api.client.get("/utils/registration_info", params={"user_email": "jane@uni.edu.au"})
    assert info.json() == {"app": "sbp"}


def test_auth0_failing_is_503_and_a_retry_registers(api):
    api.fake.fail_next(1, 503, path_prefix="/api/v2/users")
    failed = api.client.post("/biocommons/register", json=body())
    assert failed.status_code == 503
    assert users(api.db_url) == []
    retried = api.client.post("/biocommons/register", json=body())
    assert retried.status_code == 201
    assert retried.json()["message"] == "registered"


def test_database_failing_after_auth0_then_retry_completes(api, backend):
    with memberships_fail(api.db_url, backend):
        failed = api.client.post("/biocommons/register", json=body())
    assert failed.status_code == 503, failed.text
    assert "sign in" in failed.json()["message"]
    assert users(api.db_url) == []  # rolled back as a whole
    [remote] = api.fake.users
    assert remote["username"] == "jane"  # the person can log in meanwhile
    retried = api.client.post("/biocommons/register", json=body())
    assert retried.status_code == 200
    assert retried.json()["message"] == "already registered"
    assert statuses(api.db_url, remote["user_id"]) == {
        "galaxy": "approved",
        "bpa_data_portal": "approved",
        "biocommons/group/tsi": "pending",
    }


def test_registration_without_auth0_configured_is_503(db_url, monkeypatch):
    from fastapi.testclient import TestClient

    from aai_cli.settings import get_settings
    from api.app import create_app

    get_settings.cache_clear()
    with TestClient(create_app()) as client:
        response = client.post("/biocommons/register", json=body())
    assert response.status_code == 503
    assert "Auth0" in response.json()["message"]
