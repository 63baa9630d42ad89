"""Registration against the local Auth0 and a real database: rules, order, existing
accounts left alone, interrupted registrations finished by the job."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from aai_cli.errors import Auth0Unavailable
from aai_cli.models import (
    EmailMessage,
    GroupMembership,
    MembershipEvent,
    PlatformMembership,
    RegistrationRecord,
    RoleChange,
    User,
    utcnow,
)
from aai_cli.services.access import registration, registration_records, registration_rules
from aai_cli.services.access.institutions import InstitutionCheckUnavailable
from aai_cli.services.access.registration import (
    AlreadyTaken,
    BundleChoice,
    Registration,
    RegistrationInvalid,
)
from tests.api.registration_util import (
    SBP_BUNDLE,
    WatchingGateway,
    database_state,
    memberships_fail,
    records,
    row_counts,
)

PASSWORD = "Str0ng!pass"
TSI = "biocommons/group/tsi"


def form(**overrides) -> Registration:
    values = {
        "kind": "biocommons",
        "email": "Jane.Doe@Uni.edu.au",
        "username": "jane_doe",
        "password": PASSWORD,
        "first_name": "Jane",
        "last_name": "Doe",
        "bundles": (BundleChoice("tsi", "threatened species genomics"),),
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
    session.expire_all()
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
    query = select(EmailMessage).order_by(EmailMessage.id)
    return [(m.kind, m.to_address) for m in session.exec(query)]


def run_job(gateway, db_url, *, after: timedelta):
    return registration_records.finish_registrations(
        lambda: gateway, url=db_url, now=utcnow() + after
    )


def test_biocommons_registration_creates_auth0_user_then_requests(
    session, gateway, auth0_env, db_url
):
    outcome = registration.register(form(), gateway=gateway)
    assert outcome.completed and outcome.message == "registered"
    remote = auth0_env.get_user(outcome.user_id)
    assert remote["email"] == "jane.doe@uni.edu.au"
    assert remote["username"] == "jane_doe"
    assert (remote["given_name"], remote["family_name"]) == ("Jane", "Doe")
    [record] = session.exec(select(RegistrationRecord)).all()
    assert remote["app_metadata"] == {
        "registration_from": "biocommons",
        "registration_id": record.id,
    }
    assert (record.status, record.user_id, record.email) == (
        "done",
        outcome.user_id,
        "jane.doe@uni.edu.au",
    )
    assert PASSWORD not in str(record.model_dump())
    user = session.get(User, outcome.user_id)
    assert (user.email, user.username, user.name) == ("jane.doe@uni.edu.au", "jane_doe", "Jane Doe")
    assert statuses(session, user.id) == {
        "galaxy": "approved",
        "bpa_data_portal": "approved",
        TSI: "pending",
    }
    reason = session.exec(select(GroupMembership.request_reason)).one()
    assert reason == "threatened species genomics"
    assert set(session.exec(select(MembershipEvent.actor)).all()) == {"system:registration"}
    assigned = session.exec(select(RoleChange.role_name).where(RoleChange.action == "assign"))
    assert sorted(assigned) == ["biocommons/platform/bpa_data_portal", "biocommons/platform/galaxy"]
    assert sorted(outbox(session)) == [
        ("access_requested", "role:biocommons/role/tsi/admin"),
        ("registration", "jane.doe@uni.edu.au"),
        ("request_received", "jane.doe@uni.edu.au"),
    ]
    subject = session.exec(
        select(EmailMessage.subject).where(EmailMessage.kind == "request_received")
    ).one()
    assert subject == "Your Threatened Species Initiative Service Bundle request has been received"
    assert [m["status"] for m in outcome.memberships] == ["approved", "approved", "pending"]


def test_without_bundle_only_the_auto_approved_platforms(session, gateway):
    outcome = registration.register(form(bundles=()), gateway=gateway)
    assert statuses(session, outcome.user_id) == {
        "galaxy": "approved",
        "bpa_data_portal": "approved",
    }
    assert outbox(session) == [("registration", "jane.doe@uni.edu.au")]


def test_bundles_are_collapsed_each_with_its_own_reason(session, gateway, db_url, institution_env):
    bundles = (
        BundleChoice("tsi", None),
        BundleChoice("tsi", "koala genomes"),
        BundleChoice(SBP_BUNDLE, "  "),
    )
    outcome = registration.register(form(bundles=bundles), gateway=gateway)
    assert statuses(session, outcome.user_id) == {
        "galaxy": "approved",
        "bpa_data_portal": "approved",
        TSI: "pending",
        SBP_BUNDLE: "pending",
    }
    query = select(GroupMembership.group_id, GroupMembership.request_reason)
    reasons = dict(session.exec(query).all())
    assert reasons == {TSI: "koala genomes", SBP_BUNDLE: None}
    received = session.exec(
        select(EmailMessage.subject).where(EmailMessage.kind == "request_received")
    ).all()
    assert sorted(received) == [
        "Your Structural Biology Platform Bundle Service Bundle request has been received",
        "Your Threatened Species Initiative Service Bundle request has been received",
    ]


def test_sbp_needs_an_allowed_domain(session, gateway, auth0_env, settings_env):

    settings_env(SBP_ALLOWED_EMAIL_DOMAINS='["uni.edu.au"]')
    with pytest.raises(RegistrationInvalid) as refused:
        registration.register(form(kind="sbp", email="jane@sub.uni.edu.au"), gateway=gateway)
    assert [e["field"] for e in refused.value.field_errors] == ["email"]
    assert creates(auth0_env) == 0
    outcome = registration.register(form(kind="sbp", bundles=(), reason="cryo-EM"), gateway=gateway)
    assert statuses(session, outcome.user_id) == {"sbp": "pending"}
    assert session.exec(select(PlatformMembership.request_reason)).one() == "cryo-EM"
    assert ("access_requested", "role:biocommons/role/sbp/admin") in outbox(session)
    assert registration.registration_app(session, "JANE.DOE@uni.edu.au") == "sbp"
    assert registration.registration_app(session, "nobody@uni.edu.au") == "biocommons"


def test_the_sbp_workflow_bundle_needs_an_institutional_email(
    session, gateway, auth0_env, db_url, institution_env
):
    bundles = (BundleChoice("sbp_workflow_execution"),)
    with pytest.raises(RegistrationInvalid) as refused:
        registration.register(form(email="jane@gmail.com", bundles=bundles), gateway=gateway)
    assert refused.value.message == (
        "SBP workflow execution requires an Australian institutional email address."
    )
    assert refused.value.field_errors == [
        {
            "field": "email",
            "message": "Please use an Australian institutional email address if applying "
            "for SBP workflow execution access.",
        }
    ]
    institution_env.answer_next(500, {"error": "down"})
    with pytest.raises(InstitutionCheckUnavailable):
        registration.register(form(bundles=bundles), gateway=gateway)
    assert institution_env.requests == ["jane@gmail.com", "jane.doe@uni.edu.au"]
    assert (creates(auth0_env), row_counts(db_url)["registrations"]) == (0, 0)
    outcome = registration.register(form(bundles=bundles), gateway=gateway)
    assert statuses(session, outcome.user_id)[SBP_BUNDLE] == "pending"


def test_every_field_error_at_once_and_auth0_untouched(session, gateway, auth0_env):
    with pytest.raises(RegistrationInvalid) as refused:
        registration.register(
            form(
                username="Jane",
                password="short",
                bundles=(BundleChoice("nope"), BundleChoice("tsi", "x" * 256)),
                first_name=" ",
                email="x@y",
            ),
            gateway=gateway,
        )
    errors = refused.value.field_errors
    assert [e["field"] for e in errors] == [
        "first_name",
        "email",
        "username",
        "password",
        "bundles",
        "bundles",
    ]
    assert "at most 255" in errors[4]["message"]
    assert "tsi" in errors[5]["message"] and "unknown bundle" in errors[5]["message"]
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
    assert (registration_rules.username_error(username) is None) is ok


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
    error = registration_rules.password_error(password)
    assert (error is None) if missing is None else (missing in error)


def test_registering_an_existing_account_again_changes_nothing(gateway, auth0_env, db_url):
    first = registration.register(form(), gateway=gateway)
    before = row_counts(db_url)
    again = form(email="JANE.DOE@uni.edu.au", bundles=(BundleChoice("tsi", "let me in"),))
    with pytest.raises(AlreadyTaken) as taken:
        registration.register(again, gateway=gateway)
    assert str(taken.value) == "Username and email are already taken"
    assert taken.value.field_errors == [
        {"field": "username", "message": "Username is already taken"},
        {"field": "email", "message": "Email is already taken"},
    ]
    assert row_counts(db_url) == before
    assert creates(auth0_env) == 1
    assert auth0_env.user_roles(first.user_id) == []  # nothing pushed for the second call


@pytest.mark.parametrize(
    ("existing", "fields"),
    [
        ({"email": "jane.doe@uni.edu.au", "username": "someone"}, ["email"]),
        ({"email": "Jane.Doe@UNI.edu.au", "username": "someone"}, ["email"]),
        ({"email": "other@uni.edu.au", "username": "Jane_Doe"}, ["username"]),
        ({"email": "other@uni.edu.au", "username": "jane_doe", "deleted": True}, ["username"]),
        ({"email": "jane.doe@uni.edu.au", "username": "x", "deleted": True}, ["email"]),
    ],
)
def test_taken_in_the_database_is_refused_before_auth0(
    session, gateway, auth0_env, db_url, existing, fields
):
    deleted_at = utcnow() if existing.pop("deleted", False) else None
    session.add(User(id="auth0|other", deleted_at=deleted_at, **existing))
    session.commit()
    before = row_counts(db_url)
    with pytest.raises(AlreadyTaken) as taken:
        registration.register(form(), gateway=gateway)
    assert [e["field"] for e in taken.value.field_errors] == fields
    assert creates(auth0_env) == 0
    assert row_counts(db_url) == before


@pytest.mark.parametrize(
    ("existing", "fields"),
    [
        ({"email": "jane.doe@uni.edu.au", "username": "someone"}, ["email"]),
        ({"email": "other@uni.edu.au", "username": "jane_doe"}, ["username"]),
        ({"email": "jane.doe@uni.edu.au", "username": "jane_doe"}, ["username", "email"]),
    ],
)
def test_taken_in_auth0_only_is_refused_and_recorded_failed(
    session, gateway, auth0_env, db_url, existing, fields
):
    auth0_env.add_user(**existing)
    with pytest.raises(AlreadyTaken) as taken:
        registration.register(form(), gateway=gateway)
    assert [e["field"] for e in taken.value.field_errors] == fields
    assert session.exec(select(User)).all() == []
    assert records(db_url) == [("jane.doe@uni.edu.au", "failed", 0)]
    assert row_counts(db_url)["platform_memberships"] == 0


def test_a_social_login_with_the_same_email_does_not_block(session, gateway):
    session.add(User(id="google-oauth2|123", email="jane.doe@uni.edu.au"))
    session.commit()
    assert registration.email_available(session, "jane.doe@uni.edu.au") == []
    outcome = registration.register(form(), gateway=gateway)
    assert outcome.completed and outcome.user_id.startswith("auth0|")


def test_no_transaction_is_open_while_auth0_answers(gateway, db_url):
    from aai_cli import db

    with db.session_scope(db_url) as held:  # what the probe sees when one is open
        held.exec(select(User.id)).all()
        assert database_state(db_url) == {"checked_out": 1, "writer_blocked": True}
    watching = WatchingGateway(gateway, db_url)
    registration.register(form(), gateway=watching)
    assert [name for name, _ in watching.seen] == ["create_user"]
    assert [state for _, state in watching.seen] == [{"checked_out": 0, "writer_blocked": False}]


def test_the_database_side_failing_is_finished_by_the_job(
    session, gateway, auth0_env, db_url, backend
):
    with memberships_fail(db_url, backend):
        outcome = registration.register(form(), gateway=gateway)
    assert not outcome.completed and outcome.user_id.startswith("auth0|")
    assert "recorded in a few minutes" in outcome.message
    assert records(db_url) == [("jane.doe@uni.edu.au", "auth0_created", 1)]
    assert row_counts(db_url)["users"] == 0  # rolled back as a whole
    assert run_job(gateway, db_url, after=timedelta(seconds=30))["completed"] == 0  # backing off
    counts = run_job(gateway, db_url, after=timedelta(minutes=3))
    assert (counts["completed"], counts["failed"]) == (1, 0)
    assert records(db_url) == [("jane.doe@uni.edu.au", "done", 1)]
    assert statuses(session, outcome.user_id) == {
        "galaxy": "approved",
        "bpa_data_portal": "approved",
        TSI: "pending",
    }
    assert sorted(outbox(session)) == [
        ("access_requested", "role:biocommons/role/tsi/admin"),
        ("registration", "jane.doe@uni.edu.au"),
        ("request_received", "jane.doe@uni.edu.au"),
    ]
    again = run_job(gateway, db_url, after=timedelta(minutes=30))
    assert (again["completed"], row_counts(db_url)["membership_events"]) == (0, 3)


def test_a_database_side_that_keeps_failing_ends_dead(session, gateway, db_url, backend):
    with memberships_fail(db_url, backend):
        registration.register(form(), gateway=gateway)
        session.execute(
            RegistrationRecord.__table__.update().values(
                attempts=registration_records.MAX_ATTEMPTS - 1
            )
        )
        session.commit()
        counts = run_job(gateway, db_url, after=timedelta(days=1))
    assert counts["dead"] == 1
    assert records(db_url) == [("jane.doe@uni.edu.au", "dead", registration_records.MAX_ATTEMPTS)]
    assert run_job(gateway, db_url, after=timedelta(days=2))["completed"] == 0


def test_auth0_unreachable_leaves_the_record_for_the_job(gateway, auth0_env, db_url):
    auth0_env.fail_next(1, 0, path_prefix="/api/v2/users")  # the connection drops
    with pytest.raises(Auth0Unavailable):
        registration.register(form(), gateway=gateway)
    assert records(db_url) == [("jane.doe@uni.edu.au", "started", 0)]
    assert run_job(gateway, db_url, after=timedelta(minutes=5))["failed"] == 0  # too early
    counts = run_job(gateway, db_url, after=timedelta(minutes=11))
    assert (counts["failed"], counts["completed"]) == (1, 0)  # no Auth0 user came of it
    assert records(db_url) == [("jane.doe@uni.edu.au", "failed", 0)]
    outcome = registration.register(form(), gateway=gateway)  # sending it again works
    assert outcome.completed


def _started(db_url, **overrides):
    from aai_cli import db

    values = {"kind": "biocommons", "email": "jane.doe@uni.edu.au", "username": "jane_doe"}
    values |= overrides
    requests = [registration_records.Requested("group", TSI, "from the record")]
    with db.session_scope(db_url) as session:
        return registration_records.start(session, requests=requests, **values)


def test_a_started_record_adopts_only_the_auth0_user_it_created(
    session, gateway, auth0_env, db_url
):
    ours = _started(db_url)
    auth0_env.add_user(
        email="jane.doe@uni.edu.au",
        username="jane_doe",
        app_metadata={"registration_from": "biocommons", "registration_id": ours},
    )
    someone = auth0_env.add_user(
        email="kim@uni.edu.au",
        username="kim",
        app_metadata={"registration_from": "biocommons", "registration_id": "another"},
    )
    theirs = _started(db_url, email="kim@uni.edu.au", username="kim")
    wrong_name = _started(db_url, email="kim@uni.edu.au", username="kimberley")
    counts = run_job(gateway, db_url, after=timedelta(minutes=11))
    assert (counts["completed"], counts["failed"]) == (1, 2)
    by_id = {r.id: (r.status, r.user_id) for r in session.exec(select(RegistrationRecord))}
    assert by_id[theirs] == ("failed", None) and by_id[wrong_name] == ("failed", None)
    status, user_id = by_id[ours]
    assert status == "done"
    assert statuses(session, user_id) == {TSI: "pending"}
    assert session.exec(select(GroupMembership.request_reason)).one() == "from the record"
    assert session.get(User, someone["user_id"]) is None  # never adopted


def test_the_job_needs_no_auth0_when_nothing_is_due(db_url):
    def no_gateway():
        raise AssertionError("Auth0 asked for with nothing to do")

    counts = registration_records.finish_registrations(no_gateway, url=db_url)
    assert counts["completed"] == counts["failed"] == 0


def test_finished_records_are_pruned_after_the_retention(gateway, db_url):
    registration.register(form(), gateway=gateway)
    kept = registration_records.finish_registrations(
        lambda: gateway, url=db_url, now=utcnow() + timedelta(days=29), retention_days=30
    )
    pruned = registration_records.finish_registrations(
        lambda: gateway, url=db_url, now=utcnow() + timedelta(days=31), retention_days=30
    )
    assert (kept["pruned"], pruned["pruned"]) == (0, 1)
    assert records(db_url) == []


def test_availability_checks(session):
    session.add(User(id="auth0|x", email="x@uni.edu.au", username="taken"))
    session.add(
        User(id="auth0|gone", email="gone@uni.edu.au", username="gone", deleted_at=utcnow())
    )
    session.commit()
    assert registration.username_available(session, "free") == []
    for name in ("taken", "gone"):
        [error] = registration.username_available(session, name)
        assert error == {"field": "username", "message": "Username is already taken"}
    assert "lowercase" in registration.username_available(session, "Nope")[0]["message"]
    assert registration.email_available(session, "new@uni.edu.au") == []
    for email in ("X@uni.edu.au", "GONE@uni.edu.au"):
        [error] = registration.email_available(session, email)
        assert error == {"field": "email", "message": "Email is already taken"}
    assert "valid" in registration.email_available(session, "nope")[0]["message"]


def test_pydantic_errors_map_once_to_field_and_message() -> None:
    errors = registration_rules.form_errors(
        registration.RegistrationForm,
        kind="biocommons",
        first_name="",
        last_name="Doe",
        email="jane@uni.edu.au",
        username="Jane",
        password="Str0ng!pass",
        reason="x" * 1025,
    )
    assert errors == [
        {"field": "first_name", "message": "required"},
        {
            "field": "username",
            "message": "the username may contain only lowercase letters, digits, '-' and '_', "
            "and must start with a letter or a digit",
        },
        {"field": "reason", "message": "the reason must be at most 1024 characters"},
    ]
    assert registration_rules.form_errors(registration_rules.UsernameForm, username="ab") == [
        {"field": "username", "message": "the username must be 3 to 128 characters long"}
    ]
    assert registration_rules.form_errors(registration_rules.EmailForm, email="ok@uni.edu.au") == []


def test_request_errors_map_with_their_location() -> None:
    from aai_cli.errors import field_errors

    errors = [
        {"type": "missing", "loc": ("body", "bundles", 0, "bundle_id"), "msg": "Field required"},
        {"type": "missing", "loc": ("query", "email"), "msg": "Field required"},
        {"type": "json_invalid", "loc": ("body", 26), "msg": "JSON decode error"},
        {"type": "model_attributes_type", "loc": ("body",), "msg": "Input should be an object"},
    ]
    assert field_errors(errors) == [
        {"field": "bundles.0.bundle_id", "message": "Field required"},
        {"field": "query.email", "message": "Field required"},
        {"field": "body", "message": "malformed JSON"},
        {"field": "body", "message": "Input should be an object"},
    ]
