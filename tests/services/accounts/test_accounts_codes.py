"""The email change confirmed by a one-time code: issue, reissue, wrong, expired and
exhausted codes, a conflict at confirmation, Auth0 refusing or down, pruning."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col, select

from aai_cli.errors import Auth0Unavailable
from aai_cli.models import EmailChangeCode, GroupMembership, RoleChange, Target, User, utcnow
from aai_cli.services import accounts
from aai_cli.services.access import memberships
from aai_cli.services.accounts.codes import MAX_ATTEMPTS
from aai_cli.services.accounts.results import (
    EmailTakenAtConfirmation,
    FieldInvalid,
    NoPendingCode,
    TooManyAttempts,
    WrongCode,
)
from aai_cli.services.email import delivery
from tests.services.accounts.accounts_util import (
    codes,
    fresh,
    history,
    make_user,
    outbox,
    sent_code,
    state,
)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_the_code_goes_to_the_new_address_hashed_here(session, ada, smtp_env):
    sent = accounts.start_email_change(ada, email=" Ada@New.Example.org ")
    assert (sent.new_email, sent.message) == (
        "ada@new.example.org",
        "OTP sent to the requested email address.",
    )
    code = sent_code(session)
    [row] = fresh(session).exec(select(EmailChangeCode)).all()
    assert code not in row.code_hash and len(row.code_hash) > 64
    assert (row.new_email, row.attempts, row.active) == ("ada@new.example.org", 0, True)
    assert timedelta(minutes=9) < row.expires_at - utcnow() <= timedelta(minutes=10)
    assert delivery.deliver_pending(session)["sent"] == 1
    [received] = smtp_env.messages
    assert received.rcpt_tos == ["ada@new.example.org"]
    assert received.message["Subject"] == "Confirm your new BioCommons Access email address"
    assert code in received.part("plain") and "10 minutes" in received.part("plain")
    assert code in received.part("html")


def test_the_right_code_changes_auth0_as_verified_then_the_row(session, gateway, auth0_env, ada):
    accounts.start_email_change(ada, email="ada@new.example.org")
    change = accounts.confirm_email_change(ada, code=sent_code(session), gateway=gateway)
    assert (change.old_value, change.new_value) == ("ada@example.org", "ada@new.example.org")
    remote = auth0_env.get_user(ada)
    assert (remote["email"], remote["email_verified"]) == ("ada@new.example.org", True)
    user = fresh(session).get(User, ada)
    assert (user.email, user.email_verified) == ("ada@new.example.org", True)
    assert history(session, ada) == [
        ("email", "ada@example.org", "ada@new.example.org", ada, "confirmed with a one-time code")
    ]
    assert [m[:2] for m in outbox(session)] == [
        ("email_change_code", "ada@new.example.org"),
        ("email_changed", "ada@example.org"),
    ]
    assert codes(session, ada) == [("ada@new.example.org", 1, False)]
    with pytest.raises(NoPendingCode):  # used once
        accounts.confirm_email_change(ada, code=sent_code(session), gateway=gateway)


def test_a_new_code_replaces_the_earlier_ones(session, gateway, ada):
    accounts.start_email_change(ada, email="first@example.org")
    first = sent_code(session)
    accounts.start_email_change(ada, email="second@example.org")
    second = sent_code(session)
    assert codes(session, ada) == [("first@example.org", 0, False), ("second@example.org", 0, True)]
    if first != second:
        with pytest.raises(WrongCode):
            accounts.confirm_email_change(ada, code=first, gateway=gateway)
    change = accounts.confirm_email_change(ada, code=second, gateway=gateway)
    assert change.new_value == "second@example.org"


def test_wrong_codes_count_and_the_last_try_is_too_many(session, gateway, auth0_env, ada):
    accounts.start_email_change(ada, email="ada@new.example.org")
    code = sent_code(session)
    for _ in range(MAX_ATTEMPTS - 1):
        with pytest.raises(WrongCode, match=r"^Invalid OTP\.$"):
            accounts.confirm_email_change(ada, code=wrong(code), gateway=gateway)
    assert codes(session, ada) == [("ada@new.example.org", 9, True)]
    with pytest.raises(TooManyAttempts) as exhausted:
        accounts.confirm_email_change(ada, code=wrong(code), gateway=gateway)
    assert exhausted.value.http_status == 429
    assert codes(session, ada) == [("ada@new.example.org", 10, False)]
    with pytest.raises(NoPendingCode):  # even the right code is no use now
        accounts.confirm_email_change(ada, code=code, gateway=gateway)
    assert auth0_env.get_user(ada)["email"] == "ada@example.org"
    assert auth0_env.requests_to("/api/v2/users/", "PATCH") == []


def test_an_expired_code_is_no_pending_change(session, gateway, ada):
    accounts.start_email_change(ada, email="ada@new.example.org")
    row = fresh(session).exec(select(EmailChangeCode)).one()
    row.expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    with pytest.raises(NoPendingCode, match=r"^No pending email change request exists\.$"):
        accounts.confirm_email_change(ada, code=sent_code(session), gateway=gateway)
    with pytest.raises(NoPendingCode):
        accounts.confirm_email_change(ada, code="123456", gateway=gateway)


def test_the_address_taken_meanwhile_is_a_conflict(session, gateway, auth0_env, ada):
    accounts.start_email_change(ada, email="wanted@example.org")
    make_user(auth0_env, session, "alan", email="wanted@example.org")
    before = state(session, ada)
    with pytest.raises(EmailTakenAtConfirmation):
        accounts.confirm_email_change(ada, code=sent_code(session), gateway=gateway)
    assert state(session, ada) == before
    assert codes(session, ada) == [("wanted@example.org", 1, True)]


def test_auth0_refusing_or_down_leaves_the_code_usable(session, gateway, auth0_env, ada):
    accounts.start_email_change(ada, email="wanted@example.org")
    code = sent_code(session)
    held_by_auth0 = auth0_env.add_user(email="wanted@example.org", username="other")
    before = state(session, ada)
    with pytest.raises(EmailTakenAtConfirmation):
        accounts.confirm_email_change(ada, code=code, gateway=gateway)
    assert state(session, ada) == before
    auth0_env.delete_user(held_by_auth0["user_id"])
    auth0_env.fail_next(2, 503)
    with pytest.raises(Auth0Unavailable):
        accounts.confirm_email_change(ada, code=code, gateway=gateway)
    assert state(session, ada) == before
    assert codes(session, ada) == [("wanted@example.org", 2, True)]
    change = accounts.confirm_email_change(ada, code=code, gateway=gateway)
    assert change.new_value == "wanted@example.org"


def test_the_new_address_is_checked_before_a_code_is_sent(session, auth0_env, ada):
    make_user(auth0_env, session, "alan")
    with pytest.raises(FieldInvalid) as taken:
        accounts.start_email_change(ada, email="ALAN@example.org")
    assert taken.value.field_errors == [
        {"field": "email", "message": "Email is already in use by another user"}
    ]
    with pytest.raises(FieldInvalid, match="not a valid email"):
        accounts.start_email_change(ada, email="nope")
    assert codes(session, ada) == [] and outbox(session) == []


def test_prune_deletes_expired_codes(session, ada):
    accounts.start_email_change(ada, email="first@example.org")
    accounts.start_email_change(ada, email="second@example.org")
    now = utcnow()
    assert accounts.prune_codes(session, now=now) == 0
    assert accounts.prune_codes(session, now=now + timedelta(minutes=11)) == 2
    session.commit()
    assert codes(session, ada) == []


SBP_BUNDLE = "biocommons/group/sbp_workflow_execution"


def _sbp_bundle_status(session, user_id: str) -> tuple[str, str | None, str | None]:  # type: ignore[no-untyped-def]
    row = (
        fresh(session)
        .exec(
            select(GroupMembership).where(
                GroupMembership.user_id == user_id, GroupMembership.group_id == SBP_BUNDLE
            )
        )
        .one()
    )
    return row.status, row.reason, row.decided_by


@pytest.fixture
def ada_with_sbp(session, ada) -> str:  # type: ignore[no-untyped-def]
    memberships.transition(
        session, user_id=ada, target=Target("group", SBP_BUNDLE), action="approve",
        actor="auth0|admin",
    )  # fmt: skip
    session.commit()
    return ada


def test_a_non_institutional_new_address_ends_the_sbp_bundle(
    session, gateway, institution_env, ada_with_sbp
):
    accounts.start_email_change(ada_with_sbp, email="ada@gmail.com")
    change = accounts.confirm_email_change(ada_with_sbp, code=sent_code(session), gateway=gateway)
    assert institution_env.requests == ["ada@gmail.com"]
    assert _sbp_bundle_status(session, ada_with_sbp) == (
        "revoked",
        "Email changed to a non-institutional address",
        "system:email-change",
    )
    # The approval's assign (never pushed here) and the removal, both still to push.
    pushes = (
        fresh(session)
        .exec(select(RoleChange.role_name, RoleChange.action).order_by(col(RoleChange.id)))
        .all()
    )
    assert [tuple(p) for p in pushes] == [(SBP_BUNDLE, "assign"), (SBP_BUNDLE, "remove")]
    assert len(change.role_change_ids) == 2 and change.problems == []


def test_an_institutional_new_address_keeps_the_sbp_bundle(
    session, gateway, institution_env, ada_with_sbp
):
    accounts.start_email_change(ada_with_sbp, email="ada@uni.edu.au")
    change = accounts.confirm_email_change(ada_with_sbp, code=sent_code(session), gateway=gateway)
    assert _sbp_bundle_status(session, ada_with_sbp) == ("approved", None, "auth0|admin")
    assert change.role_change_ids == [] and change.problems == []


def test_an_unclear_institution_check_keeps_the_sbp_bundle_and_says_so(
    session, gateway, institution_env, ada_with_sbp
):
    accounts.start_email_change(ada_with_sbp, email="ada@gmail.com")
    institution_env.answer_next(502, {"detail": "bad gateway"})
    change = accounts.confirm_email_change(ada_with_sbp, code=sent_code(session), gateway=gateway)
    assert _sbp_bundle_status(session, ada_with_sbp) == ("approved", None, "auth0|admin")
    assert change.problems == [
        "the institution check gave no clear answer: institution-only bundles were kept"
    ]
    assert fresh(session).get(User, ada_with_sbp).email == "ada@gmail.com"
