"""Which emails membership transitions queue (in the transition's own transaction)."""

from __future__ import annotations

import pytest
from sqlmodel import delete, select

from aai_cli.models import EmailMessage, GroupAdminRole, Target, User
from aai_cli.services.access import memberships, notifications
from tests.services.directory_helpers import approve_as_sync

SBP = Target("platform", "sbp")
GALAXY = Target("platform", "galaxy")
TSI = Target("group", "biocommons/group/tsi")


@pytest.fixture
def user(session):
    session.add(
        User(id="auth0|bob", email="bob@example.org", username="bob", given_name="<b>Bob</b>")
    )
    session.commit()
    return "auth0|bob"


def _outbox(session):
    return session.exec(select(EmailMessage).order_by(EmailMessage.id)).all()


def _act(session, user, target, action, actor="auth0|admin", reason=None):
    return memberships.transition(
        session, user_id=user, target=target, action=action, actor=actor, reason=reason
    )


def test_pending_request_mails_the_admin_role(session, user):
    _act(session, user, SBP, "request", actor=user, reason="I study <proteins>")
    [message] = _outbox(session)
    assert message.kind == "access_requested"
    assert message.to_address == "role:biocommons/role/sbp/admin"
    assert message.subject == "New access request for Structural Biology Platform"
    assert "I study <proteins>" in message.body_text
    assert "I study &lt;proteins&gt;" in message.body_html
    assert "&lt;b&gt;Bob&lt;/b&gt;" in message.body_html
    assert "/admin/users/auth0%7Cbob" in message.body_text


def test_group_request_mails_each_of_its_admin_roles(session, user):
    session.add(GroupAdminRole(group_id=TSI.id, role_name="biocommons/role/tsi/deputy"))
    session.commit()
    _act(session, user, TSI, "request", actor=user)
    assert [m.to_address for m in _outbox(session)] == [
        "role:biocommons/role/tsi/admin",
        "role:biocommons/role/tsi/deputy",
    ]


def test_without_admin_roles_the_super_admins_are_told(session, user, settings_env):

    settings_env(ADMIN_ROLES='["biocommons/role/biocommons/admin"]')
    session.exec(delete(GroupAdminRole).where(GroupAdminRole.group_id == TSI.id))
    session.commit()
    _act(session, user, TSI, "request", actor=user)
    assert [m.to_address for m in _outbox(session)] == ["role:biocommons/role/biocommons/admin"]


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        (["request", "approve"], "access_approved"),
        (["request", "reject"], "access_rejected"),
        (["request", "approve", "revoke"], "access_revoked"),
    ],
)
def test_decisions_mail_the_user(session, user, path, kind):
    for action in path:
        _act(session, user, SBP, action, reason="because <reasons>")
    last = _outbox(session)[-1]
    assert (last.kind, last.to_address) == (kind, "bob@example.org")
    assert "because <reasons>" in last.body_text
    assert "because &lt;reasons&gt;" in last.body_html


def test_auto_approved_request_mails_the_user_not_the_admins(session, user):
    _act(session, user, GALAXY, "request", actor=user)
    assert [(m.kind, m.to_address) for m in _outbox(session)] == [
        ("access_approved", "bob@example.org")
    ]


def test_sync_imports_and_repeats_send_nothing(session, user):
    approve_as_sync(session, user, SBP)
    assert _outbox(session) == []
    repeat = _act(session, user, SBP, "approve")
    assert repeat.changed is False
    assert _outbox(session) == []


def test_registration_requests_do_not_mail_approvals(session, user):
    _act(session, user, GALAXY, "request", actor="system:registration")
    _act(session, user, SBP, "request", actor="system:registration")
    assert [m.kind for m in _outbox(session)] == ["access_requested"]


def test_notify_again_returns_the_count_without_a_second_email(session, user):
    result = _act(session, user, SBP, "request", actor=user)
    assert notifications.notify_transition(session, result) == 1
    assert len(_outbox(session)) == 1


def test_registration_email_lists_the_requests(session, user):
    bob = session.get(User, user)
    notifications.notify_registration(
        session,
        user=bob,
        memberships=[{"name": "Galaxy Australia", "status": "approved"}],
    )
    [message] = _outbox(session)
    assert message.kind == "registration" and message.to_address == "bob@example.org"
    assert "Galaxy Australia: approved" in message.body_text
    assert "&lt;b&gt;Bob&lt;/b&gt;" in message.body_html


def test_emails_share_the_transition_transaction(session, user):
    _act(session, user, SBP, "request", actor=user)
    assert len(_outbox(session)) == 1
    session.rollback()  # the decision is lost: so are its emails
    assert _outbox(session) == []
