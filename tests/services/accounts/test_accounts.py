"""Username, admin email, name, password and reset-link changes against the local Auth0 and
a real database: Auth0 first, then the row, one history row and the emails; refusals and
outages change nothing here; usernames and emails stay reserved."""

from __future__ import annotations

import pytest

from aai_cli.errors import Auth0Unavailable, Conflict, NotFound
from aai_cli.models import IdentityEvent, User, utcnow
from aai_cli.serialize import to_data
from aai_cli.services import accounts
from aai_cli.services.accounts.results import FieldInvalid, NotSupported
from aai_cli.services.auth0.mirror import upsert_rows, user_row
from aai_cli.services.auth0.models import Auth0User
from aai_cli.services.email import delivery
from tests.services.accounts.accounts_util import (
    PASSWORD,
    fresh,
    history,
    make_user,
    outbox,
    state,
)

ADMIN = "auth0|admin"


@pytest.fixture
def ada(auth0_env, session) -> str:  # type: ignore[no-untyped-def]
    return make_user(auth0_env, session, "ada", name="Ada Lovelace", given_name="Ada")


def test_rename_changes_auth0_then_the_row_with_history_and_a_notice(
    session, gateway, auth0_env, ada
):
    change = accounts.rename(ada, username="countess", actor=ADMIN, gateway=gateway)
    assert to_data(change) == {
        "user_id": ada,
        "kind": "username",
        "old_value": "ada",
        "new_value": "countess",
        "actor": ADMIN,
        "reason": None,
        "role_change_ids": [],
        "emails": 1,
        "problems": [],
    }
    assert auth0_env.get_user(ada)["username"] == "countess"
    patch = auth0_env.requests_to("/api/v2/users/", "PATCH")
    assert [r.status for r in patch] == [200]
    user = fresh(session).get(User, ada)
    assert user.username == "countess"
    assert user.updated_at == Auth0User.model_validate(auth0_env.get_user(ada)).updated_at
    assert history(session, ada) == [("username", "ada", "countess", ADMIN, None)]
    assert outbox(session) == [
        ("username_changed", "ada@example.org", "Your Biocommons Access username was updated")
    ]


def test_usernames_stay_reserved(session, gateway, auth0_env, ada):
    alan = make_user(auth0_env, session, "alan")
    gone = make_user(auth0_env, session, "gone")
    fresh(session).get(User, gone).deleted_at = utcnow()
    session.commit()
    for taken in ("ALAN", "gone"):  # live, soft-deleted; case-insensitively
        with pytest.raises(FieldInvalid) as refused:
            accounts.rename(ada, username=taken.lower(), actor=ADMIN, gateway=gateway)
        assert refused.value.field_errors == [
            {"field": "username", "message": "Username is already taken"}
        ]
    accounts.rename(alan, username="turing", actor=ADMIN, gateway=gateway)
    with pytest.raises(FieldInvalid, match="already taken"):  # once used by someone else
        accounts.rename(ada, username="alan", actor=ADMIN, gateway=gateway)
    accounts.rename(ada, username="countess", actor=ada, gateway=gateway)
    with pytest.raises(FieldInvalid, match="already taken"):  # her own former, herself
        accounts.rename(ada, username="ada", actor=ada, gateway=gateway)
    back = accounts.rename(ada, username="ada", actor=ADMIN, gateway=gateway)  # an admin may
    assert back.new_value == "ada"
    with pytest.raises(FieldInvalid, match="lowercase letters"):
        accounts.rename(ada, username="Bad Name", actor=ADMIN, gateway=gateway)
    with pytest.raises(FieldInvalid, match="already set"):
        accounts.rename(ada, username="ada", actor=ADMIN, gateway=gateway)


def test_auth0_refusing_or_down_changes_nothing_here(session, gateway, auth0_env, ada):
    auth0_env.add_user(email="other@example.org", username="taken_in_auth0")
    before = state(session, ada)
    with pytest.raises(FieldInvalid) as refused:
        accounts.rename(ada, username="taken_in_auth0", actor=ADMIN, gateway=gateway)
    assert refused.value.field_errors[0]["field"] == "username"
    auth0_env.fail_next(2, 503)
    with pytest.raises(Auth0Unavailable):
        accounts.rename(ada, username="countess", actor=ADMIN, gateway=gateway)
    auth0_env.fail_next(2, 503)
    with pytest.raises(Auth0Unavailable):
        accounts.set_email(ada, email="new@example.org", actor=ADMIN, gateway=gateway)
    auth0_env.fail_next(2, 503)
    with pytest.raises(Auth0Unavailable):
        accounts.update_name(ada, first_name="A", last_name="L", actor=ADMIN, gateway=gateway)
    assert state(session, ada) == before
    assert auth0_env.get_user(ada)["username"] == "ada"


def test_unknown_and_deleted_users_are_not_found(session, gateway, auth0_env, ada):
    with pytest.raises(NotFound):
        accounts.rename("auth0|nobody", username="x_y_z", actor=ADMIN, gateway=gateway)
    fresh(session).get(User, ada).deleted_at = utcnow()
    session.commit()
    with pytest.raises(NotFound):
        accounts.rename(ada, username="countess", actor=ADMIN, gateway=gateway)
    assert auth0_env.requests_to("/api/v2/users/", "PATCH") == []


def test_admin_sets_the_email_unverified_tells_the_old_address_and_asks_auth0_to_verify(
    session, gateway, auth0_env, ada
):
    change = accounts.set_email(ada, email=" Ada@New.Example.org ", actor=ADMIN, gateway=gateway)
    assert (change.old_value, change.new_value, change.problems) == (
        "ada@example.org",
        "ada@new.example.org",
        [],
    )
    remote = auth0_env.get_user(ada)
    assert (remote["email"], remote["email_verified"]) == ("ada@new.example.org", False)
    assert auth0_env.verification_emails == [ada]
    user = fresh(session).get(User, ada)
    assert (user.email, user.email_verified) == ("ada@new.example.org", False)
    assert history(session, ada) == [
        ("email", "ada@example.org", "ada@new.example.org", ADMIN, None)
    ]
    assert outbox(session) == [
        ("email_changed", "ada@example.org", "Your Biocommons Access email address was updated")
    ]


def test_admin_email_refusals(session, gateway, auth0_env, ada):
    make_user(auth0_env, session, "alan")
    with pytest.raises(FieldInvalid, match="already set"):
        accounts.set_email(ada, email="ADA@example.org", actor=ADMIN, gateway=gateway)
    with pytest.raises(FieldInvalid) as taken:
        accounts.set_email(ada, email="Alan@example.org", actor=ADMIN, gateway=gateway)
    assert taken.value.field_errors == [
        {"field": "email", "message": "Email is already in use by another user"}
    ]
    with pytest.raises(FieldInvalid, match="not a valid email"):
        accounts.set_email(ada, email="not-an-address", actor=ADMIN, gateway=gateway)
    auth0_env.add_user(email="only-in-auth0@example.org", username="someone")
    with pytest.raises(FieldInvalid, match="already in use"):
        accounts.set_email(ada, email="only-in-auth0@example.org", actor=ADMIN, gateway=gateway)
    assert history(session, ada) == [] and outbox(session) == []


def test_a_verification_email_that_fails_is_reported_not_undone(session, gateway, auth0_env, ada):
    auth0_env.fail_next(1, 503, path_prefix="/api/v2/jobs/")
    change = accounts.set_email(ada, email="new@example.org", actor=ADMIN, gateway=gateway)
    assert len(change.problems) == 1 and "verification email not sent" in change.problems[0]
    assert fresh(session).get(User, ada).email == "new@example.org"


def test_emails_once_used_by_another_account_stay_reserved(session, gateway, auth0_env, ada):
    alan = make_user(auth0_env, session, "alan")
    accounts.set_email(alan, email="alan@new.example.org", actor=ADMIN, gateway=gateway)
    with pytest.raises(FieldInvalid, match="already in use"):
        accounts.set_email(ada, email="alan@example.org", actor=ADMIN, gateway=gateway)


def test_update_name_sets_names_and_the_initials_avatar(session, gateway, auth0_env, ada):
    change = accounts.update_name(
        ada, first_name=" Augusta ", last_name="King", actor=ada, gateway=gateway
    )
    assert (change.old_value, change.new_value) == ("Ada Lovelace", "Augusta King")
    remote = auth0_env.get_user(ada)
    avatar = "https://ui-avatars.com/api/?name=ak&background=random"
    assert (remote["given_name"], remote["family_name"], remote["name"], remote["picture"]) == (
        "Augusta",
        "King",
        "Augusta King",
        avatar,
    )
    user = fresh(session).get(User, ada)
    assert (user.name, user.given_name, user.family_name, user.picture) == (
        "Augusta King",
        "Augusta",
        "King",
        avatar,
    )
    assert history(session, ada) == [("name", "Ada Lovelace", "Augusta King", ada, None)]
    accounts.update_name(ada, first_name="Ädä", last_name="王", actor=ada, gateway=gateway)
    assert auth0_env.get_user(ada)["picture"] == avatar  # no ASCII initials: left alone
    with pytest.raises(FieldInvalid) as refused:
        accounts.update_name(ada, first_name="", last_name="King", actor=ada, gateway=gateway)
    assert refused.value.field_errors[0]["field"] == "first_name"
    with pytest.raises(FieldInvalid):
        accounts.update_name(ada, first_name="A" * 151, last_name="K", actor=ada, gateway=gateway)


def test_change_password_checks_the_current_one_with_auth0(session, gateway, auth0_env, ada):
    with pytest.raises(FieldInvalid) as wrong:
        accounts.change_password(
            ada, current_password="Wr0ng!pass", new_password="N3w!password", gateway=gateway
        )
    assert wrong.value.field_errors == [
        {"field": "currentPassword", "message": "Current password is incorrect"}
    ]
    assert auth0_env.requests_to("/api/v2/users/", "PATCH") == []
    with pytest.raises(FieldInvalid) as weak:
        accounts.change_password(
            ada, current_password=PASSWORD, new_password="weakpass", gateway=gateway
        )
    assert weak.value.field_errors[0]["field"] == "new_password"
    with pytest.raises(FieldInvalid, match="differ"):
        accounts.change_password(
            ada, current_password=PASSWORD, new_password=PASSWORD, gateway=gateway
        )
    change = accounts.change_password(
        ada, current_password=PASSWORD, new_password="N3w!password", gateway=gateway
    )
    assert change.kind == "password"
    assert gateway.check_password("ada", "N3w!password") is True
    assert gateway.check_password("ada", PASSWORD) is False
    assert "N3w!password" not in str(to_data(change))
    assert session.exec(IdentityEvent.__table__.select()).all() == []  # type: ignore[attr-defined]


def test_change_password_is_refused_for_a_social_login(session, gateway, auth0_env):
    remote = auth0_env.add_user(email="g@example.org", connection="google-oauth2")
    upsert_rows(session, [user_row(Auth0User.model_validate(remote), utcnow())])
    session.commit()
    with pytest.raises(NotSupported, match="not supported for this account"):
        accounts.change_password(
            remote["user_id"], current_password="x", new_password="N3w!password", gateway=gateway
        )


def test_password_reset_emails_an_auth0_ticket(session, gateway, auth0_env, ada, smtp_env):
    change = accounts.send_password_reset(ada, actor=ADMIN, gateway=gateway)
    assert change.emails == 1
    [ticket] = auth0_env.password_tickets
    assert (ticket["user_id"], ticket["ttl_sec"]) == (ada, 86400)
    assert delivery.deliver_pending(session)["sent"] == 1
    [received] = smtp_env.messages
    assert received.rcpt_tos == ["ada@example.org"]
    assert received.message["Subject"] == "Reset your BioCommons Access password"
    assert ticket["ticket"] in received.part("plain")
    assert f'href="{ticket["ticket"]}"' in received.part("html")


def test_notices_escape_user_text(session, gateway, auth0_env, smtp_env):
    evil = make_user(auth0_env, session, "evil", given_name='<script>alert("x")</script>')
    accounts.rename(evil, username="evil2", actor=ADMIN, gateway=gateway)
    assert delivery.deliver_pending(session)["sent"] == 1
    [received] = smtp_env.messages
    html = received.part("html")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<script>alert("x")</script>' in received.part("plain")


def test_a_change_is_refused_as_a_conflict_when_restoring_a_live_user(gateway, ada):
    with pytest.raises(Conflict, match="not deleted"):
        accounts.restore(ada, actor=ADMIN, reason=None, gateway=gateway)
