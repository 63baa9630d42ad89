"""Registration against the local Auth0 and a real database: rules, order, idempotency."""

from __future__ import annotations

import pytest
from sqlmodel import select

from aai_cli.errors import Auth0Unavailable
from aai_cli.models import (
    EmailMessage,
    GroupMembership,
    MembershipEvent,
    PlatformMembership,
    RoleChange,
    User,
)
from aai_cli.services import registration
from aai_cli.services.registration import AlreadyTaken, Registration, RegistrationInvalid

PASSWORD = "Str0ng!pass"


def form(**overrides) -> Registration:
    values = {
        "kind": "biocommons",
        "email": "Jane.Doe@Uni.edu.au",
        "username": "jane_doe",
        "password": PASSWORD,
        "first_name": "Jane",
        "last_name": "Doe",
        "bundle": "tsi",
        "reason": "threatened species genomics",
    }
    return Registration(**{**values, **overrides})


@pytest.fixture
def gateway(auth0_env):
    from aai_cli.services.auth0 import get_gateway

    return get_gateway()


def creates(fake) -> int:
    """User creations (POST /api/v2/users itself, not /users/{id}/roles)."""
    return len([r for r in fake.requests_to("/api/v2/users", "POST") if r.path == "/api/v2/users"])


def statuses(session, user_id):
    platforms = session.exec(
        select(PlatformMembership.platform_id, PlatformMembership.status).where(
            PlatformMembership.user_id == user_id
        )
    ).all()
    groups = session.exec(
        select(GroupMembership.group_id, GroupMembership.status).where(
            GroupMembership.user_id == user_id
        )
    ).all()
    return dict(platforms) | dict(groups)


def outbox(session):
    return [
        (m.kind, m.to_address) for m in session.exec(select(EmailMessage).order_by(EmailMessage.id))
    ]


def test_biocommons_registration_creates_auth0_user_then_requests(session, gateway, auth0_env):
    outcome = registration.register(session, form(), gateway=gateway)
    session.commit()
    assert outcome.created and outcome.message == "registered"
    remote = auth0_env.get_user(outcome.user_id)
    assert remote["email"] == "jane.doe@uni.edu.au"
    assert remote["username"] == "jane_doe"
    assert (remote["given_name"], remote["family_name"]) == ("Jane", "Doe")
    assert remote["app_metadata"] == {"registration_from": "biocommons"}
    user = session.get(User, outcome.user_id)
    assert (user.email, user.username, user.name) == ("jane.doe@uni.edu.au", "jane_doe", "Jane Doe")
    assert statuses(session, user.id) == {
        "galaxy": "approved",
        "bpa_data_portal": "approved",
        "biocommons/group/tsi": "pending",
    }
    actors = set(session.exec(select(MembershipEvent.actor)).all())
    assert actors == {"system:registration"}
    assigned = session.exec(select(RoleChange.role_name).where(RoleChange.action == "assign"))
    assert sorted(assigned) == ["biocommons/platform/bpa_data_portal", "biocommons/platform/galaxy"]
    assert sorted(outbox(session)) == [
        ("access_requested", "role:biocommons/role/tsi/admin"),
        ("registration", "jane.doe@uni.edu.au"),
    ]
    assert [m["status"] for m in outcome.memberships] == ["approved", "approved", "pending"]


def test_without_bundle_only_the_auto_approved_platforms(session, gateway):
    outcome = registration.register(session, form(bundle=None), gateway=gateway)
    assert statuses(session, outcome.user_id) == {
        "galaxy": "approved",
        "bpa_data_portal": "approved",
    }
    assert outbox(session) == [("registration", "jane.doe@uni.edu.au")]


def test_sbp_needs_an_allowed_domain(session, gateway, auth0_env, monkeypatch):
    from aai_cli.settings import get_settings

    monkeypatch.setenv("SBP_ALLOWED_EMAIL_DOMAINS", '["uni.edu.au"]')
    get_settings.cache_clear()
    with pytest.raises(RegistrationInvalid) as refused:
        registration.register(
            session, form(kind="sbp", email="jane@sub.uni.edu.au"), gateway=gateway
        )
    assert [e["field"] for e in refused.value.field_errors] == ["email"]
    assert creates(auth0_env) == 0
    outcome = registration.register(session, form(kind="sbp", bundle=None), gateway=gateway)
    assert statuses(session, outcome.user_id) == {"sbp": "pending"}
    assert ("access_requested", "role:biocommons/role/sbp/admin") in outbox(session)
    assert registration.registration_app(session, "JANE.DOE@uni.edu.au") == "sbp"
    assert registration.registration_app(session, "nobody@uni.edu.au") == "biocommons"


def test_every_field_error_at_once_and_auth0_untouched(session, gateway, auth0_env):
    with pytest.raises(RegistrationInvalid) as refused:
        registration.register(
            session,
            form(username="Jane", password="short", bundle="nope", first_name=" ", email="x@y"),
            gateway=gateway,
        )
    fields = [e["field"] for e in refused.value.field_errors]
    assert fields == ["first_name", "email", "username", "password", "bundle"]
    assert "tsi" in refused.value.field_errors[-1]["message"]
    assert creates(auth0_env) == 0


@pytest.mark.parametrize(
    ("username", "ok"),
    [
        ("abc", True),
        ("a" * 128, True),
        ("0-user_name", True),
        ("ab", False),
        ("a" * 129, False),
        ("-abc", False),
        ("_abc", False),
        ("Abc", False),
        ("ab c", False),
        ("abé", False),
    ],
)
def test_username_rules(username, ok):
    assert (registration.username_error(username) is None) is ok


@pytest.mark.parametrize(
    ("password", "missing"),
    [
        ("Str0ng!pass", None),
        ("Aa1!" * 18, None),  # 72
        ("Aa1!" * 18 + "x", "characters"),  # 73
        ("Aa1!aa", "characters"),
        ("str0ng!pass", "uppercase"),
        ("STR0NG!PASS", "lowercase"),
        ("Strong!pass", "digit"),
        ("Str0ngpass1", "symbol"),
        ("Str0ng pass", "symbol"),  # a space is not a symbol
    ],
)
def test_password_rules(password, missing):
    error = registration.password_error(password)
    assert (error is None) if missing is None else (missing in error)


def test_retry_after_success_says_already_registered(session, gateway, auth0_env):
    first = registration.register(session, form(), gateway=gateway)
    session.commit()
    before = outbox(session)
    again = registration.register(session, form(email="JANE.DOE@uni.edu.au"), gateway=gateway)
    session.commit()
    assert (again.created, again.message, again.user_id) == (
        False,
        "already registered",
        first.user_id,
    )
    assert creates(auth0_env) == 1  # answered from the database
    assert outbox(session) == before


def test_database_side_lost_then_retry_adopts(session, gateway, auth0_env):
    first = registration.register(session, form(), gateway=gateway)
    session.rollback()  # the commit never happened: only Auth0 has the user
    assert session.get(User, first.user_id) is None
    assert auth0_env.get_user(first.user_id) is not None
    again = registration.register(session, form(), gateway=gateway)
    session.commit()
    assert (again.created, again.message, again.user_id) == (
        False,
        "already registered",
        first.user_id,
    )
    assert creates(auth0_env) == 2  # the second create got Auth0's 409
    assert statuses(session, first.user_id)["biocommons/group/tsi"] == "pending"
    assert ("registration", "jane.doe@uni.edu.au") in outbox(session)


def test_sync_adopted_user_gets_the_requests_on_retry(session, gateway, auth0_env):
    remote = auth0_env.add_user(email="jane.doe@uni.edu.au", username="jane_doe")
    session.add(User(id=remote["user_id"], email="jane.doe@uni.edu.au", username="jane_doe"))
    session.commit()
    outcome = registration.register(session, form(), gateway=gateway)
    assert outcome.user_id == remote["user_id"] and not outcome.created
    assert statuses(session, outcome.user_id)["biocommons/group/tsi"] == "pending"
    assert ("registration", "jane.doe@uni.edu.au") not in outbox(session)  # not their first time


@pytest.mark.parametrize(
    ("existing", "field"),
    [
        ({"email": "jane.doe@uni.edu.au", "username": "someone"}, "email"),
        ({"email": "other@uni.edu.au", "username": "jane_doe"}, "username"),
    ],
)
def test_taken_in_auth0_by_another_account(session, gateway, auth0_env, existing, field):
    auth0_env.add_user(**existing)
    with pytest.raises(AlreadyTaken) as taken:
        registration.register(session, form(), gateway=gateway)
    assert taken.value.field_errors[0]["field"] == field
    assert session.exec(select(User)).all() == []


def test_taken_in_the_database_is_refused_before_auth0(session, gateway, auth0_env):
    session.add(User(id="auth0|other", email="other@uni.edu.au", username="jane_doe"))
    session.commit()
    with pytest.raises(AlreadyTaken, match="username"):
        registration.register(session, form(), gateway=gateway)
    assert creates(auth0_env) == 0


def test_a_social_login_with_the_same_email_does_not_block(session, gateway, auth0_env):
    session.add(User(id="google-oauth2|123", email="jane.doe@uni.edu.au"))
    session.commit()
    assert registration.email_available(session, "jane.doe@uni.edu.au") == []
    outcome = registration.register(session, form(), gateway=gateway)
    assert outcome.created and outcome.user_id.startswith("auth0|")


def test_auth0_down_writes_nothing_and_a_retry_succeeds(session, gateway, auth0_env):
    auth0_env.fail_next(1, 503, path_prefix="/api/v2/users")
    with pytest.raises(Auth0Unavailable):
        registration.register(session, form(), gateway=gateway)
    session.rollback()
    assert session.exec(select(User)).all() == []
    outcome = registration.register(session, form(), gateway=gateway)
    assert outcome.created


def test_availability_checks(session):
    session.add(User(id="auth0|x", email="x@uni.edu.au", username="taken"))
    session.add(User(id="auth0|gone", email="gone@uni.edu.au", username="gone", deleted_at=None))
    session.commit()
    assert registration.username_available(session, "free") == []
    assert "taken" in registration.username_available(session, "taken")[0]["message"]
    assert "lowercase" in registration.username_available(session, "Nope")[0]["message"]
    assert registration.email_available(session, "new@uni.edu.au") == []
    assert (
        "already registered" in registration.email_available(session, "X@uni.edu.au")[0]["message"]
    )
    assert "valid" in registration.email_available(session, "nope")[0]["message"]
