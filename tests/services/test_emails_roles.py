"""Admin emails: a `role:` recipient fans out to the role's Auth0 members at delivery."""

from __future__ import annotations

from sqlmodel import select

from aai_cli.models import EmailMessage
from aai_cli.services.email import delivery

ROLE = "biocommons/role/sbp/admin"


def _enqueue(session):
    message = delivery.enqueue_email(
        session,
        kind="access_requested",
        to=delivery.role_recipient(ROLE),
        context={
            "requester_name": "<i>Eve</i>",
            "requester_email": "eve@example.org",
            "requester_username": "eve",
            "target_name": "Structural Biology Platform",
            "reason": None,
            "review_url": "https://portal.test/admin/users/auth0%7Ceve",
        },
    )
    session.commit()
    return message


def _admins(fake, *emails_):
    role_id = fake.add_role(ROLE)["id"]
    for address in emails_:
        fake.assign_role(fake.add_user(email=address)["user_id"], role_id)
    return role_id


def test_each_admin_gets_their_own_copy(session, auth0_env, smtp_env):
    _admins(auth0_env, "ann@example.org", "Ben@Example.org")
    auth0_env.add_user(email="not-an-admin@example.org")
    parent = _enqueue(session)
    counts = delivery.deliver_pending(session)
    assert (counts["expanded"], counts["sent"]) == (1, 2)
    assert sorted(r for m in smtp_env.messages for r in m.rcpt_tos) == [
        "ann@example.org",
        "ben@example.org",
    ]
    html = smtp_env.messages[0].part("html")
    assert "&lt;i&gt;Eve&lt;/i&gt;" in html and "<i>Eve</i>" not in html
    session.expire_all()
    rows = session.exec(select(EmailMessage).order_by(EmailMessage.id)).all()
    assert [(r.to_address, r.status) for r in rows] == [
        (f"role:{ROLE}", "sent"),
        ("ann@example.org", "sent"),
        ("ben@example.org", "sent"),
    ]
    assert rows[0].id == parent.id


def test_a_role_without_members_is_a_dead_letter(session, auth0_env, smtp_env):
    auth0_env.add_role(ROLE)
    message = _enqueue(session)
    assert delivery.deliver_pending(session)["dead"] == 1
    session.expire_all()
    row = session.get(EmailMessage, message.id)
    assert row.status == "dead" and "no recipients" in row.last_error
    assert smtp_env.messages == []


def test_auth0_down_at_fan_out_is_retried(session, auth0_env, smtp_env, monkeypatch):
    from aai_cli.services.auth0 import get_gateway
    from aai_cli.services.auth0.transport import RetryPolicy

    # the gateway's own retries, shortened: 2 quick attempts, then Auth0Unavailable
    monkeypatch.setattr(get_gateway(), "policy", RetryPolicy(max_attempts=2, base_delay_s=0.01))
    _admins(auth0_env, "ann@example.org")
    message = _enqueue(session)
    auth0_env.fail_next(2, 503, path_prefix="/api/v2/roles")
    assert delivery.deliver_pending(session)["retry"] == 1
    session.expire_all()
    row = session.get(EmailMessage, message.id)
    assert (row.status, row.attempts) == ("pending", 1)
    assert "Auth0" in row.last_error
    assert delivery.deliver_pending(session, now=row.next_attempt_at)["sent"] == 1
    assert [m.rcpt_tos for m in smtp_env.messages] == [["ann@example.org"]]
