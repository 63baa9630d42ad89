"""The email outbox: rendering, delivery to a real local SMTP server, leases, retries."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlmodel import select

from aai_cli.errors import ConfigError, InvalidInput
from aai_cli.models import EmailMessage, utcnow
from aai_cli.services.email import delivery

EVIL = '<script>alert("x")</script> & Co'


def _enqueue(session, to="alice@example.org", name="Alice"):
    message = delivery.enqueue_email(
        session,
        kind="access_approved",
        to=to,
        context={"name": name, "target_name": "Galaxy Australia", "reason": None},
    )
    session.commit()
    return message


def _row(session, message_id):
    session.expire_all()
    return session.get(EmailMessage, message_id)


def test_render_escapes_user_text_in_html_only():
    subject, text, html = delivery.render(
        "access_requested",
        {
            "requester_name": EVIL,
            "requester_email": "e@example.org",
            "requester_username": None,
            "target_name": "SBP\r\nBcc: victim@example.org",
            "reason": "<b>please</b>",
            "review_url": "https://portal.test/admin",
        },
    )
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "&lt;b&gt;please&lt;/b&gt;" in html
    assert EVIL in text and "<b>please</b>" in text
    assert "\n" not in subject and "\r" not in subject
    assert subject == "New access request for SBP Bcc: victim@example.org"


def test_unknown_kind_and_bad_address_are_refused(session):
    with pytest.raises(InvalidInput, match="unknown email kind"):
        delivery.enqueue_email(session, kind="spam", to="a@example.org", context={})
    with pytest.raises(InvalidInput, match="not an email address"):
        delivery.enqueue_email(session, kind="registration", to="nobody", context={})


def test_smtp_delivery_sends_text_and_escaped_html(session, smtp_env):
    message = _enqueue(session, name=EVIL)
    counts = delivery.deliver_pending(session)
    assert counts["sent"] == 1
    [received] = smtp_env.messages
    assert received.rcpt_tos == ["alice@example.org"]
    assert received.message["From"] == "no-reply@test.biocommons.org.au"
    assert received.message["Subject"] == "Your access to Galaxy Australia has been approved"
    assert EVIL in received.part("plain")
    html = received.part("html")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'href="https://portal.test"' in html
    row = _row(session, message.id)
    assert (row.status, row.attempts, row.lease_until) == ("sent", 1, None)
    assert row.sent_at is not None
    # delivered once: a second run finds nothing due
    assert delivery.deliver_pending(session)["sent"] == 0
    assert len(smtp_env.messages) == 1


def test_console_backend_logs_the_message(session, caplog):
    message = _enqueue(session)
    with caplog.at_level(logging.INFO, logger="aai_cli.emails"):
        assert delivery.deliver_pending(session)["sent"] == 1
    assert "to=alice@example.org" in caplog.text
    assert "Galaxy Australia has been approved" in caplog.text
    assert _row(session, message.id).status == "sent"


def test_smtp_down_backs_off_then_dead_letters(session, smtp_env, settings_env):

    settings_env(SMTP_PORT="1")  # nothing listens there
    message = _enqueue(session)
    now = utcnow()
    assert delivery.deliver_pending(session, now=now)["retry"] == 1
    row = _row(session, message.id)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.next_attempt_at == now + timedelta(minutes=1)
    assert "cannot send through" in row.last_error
    # not due before its backoff has passed
    assert delivery.deliver_pending(session, now=now + timedelta(seconds=30))["retry"] == 0
    for _ in range(delivery.MAX_ATTEMPTS - 1):
        now = _row(session, message.id).next_attempt_at
        delivery.deliver_pending(session, now=now)
    row = _row(session, message.id)
    assert (row.status, row.attempts) == ("dead", delivery.MAX_ATTEMPTS)
    assert delivery.deliver_pending(session, now=now + timedelta(days=1)) == {
        "sent": 0,
        "expanded": 0,
        "retry": 0,
        "dead": 0,
        "skipped": 0,
    }


def test_recovers_once_smtp_is_back(session, smtp_env, settings_env):

    port = smtp_env.port
    settings_env(SMTP_PORT="1")
    message = _enqueue(session)
    now = utcnow()
    delivery.deliver_pending(session, now=now)
    settings_env(SMTP_PORT=str(port))
    assert delivery.deliver_pending(session, now=now + timedelta(minutes=2))["sent"] == 1
    assert _row(session, message.id).status == "sent"
    assert len(smtp_env.messages) == 1


def test_permanent_refusal_is_dead_at_once(session, smtp_env):
    smtp_env.refused.add("gone@example.org")
    message = _enqueue(session, to="gone@example.org")
    ok = _enqueue(session, to="bob@example.org")
    counts = delivery.deliver_pending(session)
    assert (counts["dead"], counts["sent"]) == (1, 1)
    row = _row(session, message.id)
    assert row.status == "dead" and "refused" in row.last_error
    assert _row(session, ok.id).status == "sent"
    assert [m.rcpt_tos for m in smtp_env.messages] == [["bob@example.org"]]


def test_starttls_unsupported_is_a_retry_not_a_crash(session, smtp_env, settings_env):

    settings_env(SMTP_STARTTLS="true")
    message = _enqueue(session)
    assert delivery.deliver_pending(session)["retry"] == 1
    assert "STARTTLS" in _row(session, message.id).last_error
    assert smtp_env.messages == []


def test_smtp_without_host_is_a_config_error_and_claims_nothing(session, settings_env):

    settings_env(EMAIL_BACKEND="smtp")
    message = _enqueue(session)
    with pytest.raises(ConfigError, match="SMTP_HOST"):
        delivery.deliver_pending(session)
    row = _row(session, message.id)
    assert (row.status, row.attempts) == ("pending", 0)


def test_lease_blocks_other_workers_until_it_expires(session, smtp_env):
    message = _enqueue(session)
    now = utcnow()
    claimed = delivery._claim(session, message.id, now)
    assert claimed is not None and claimed.status == "sending"
    # another worker: the row is leased, nothing to do, and a second claim loses
    assert delivery._claim(session, message.id, now) is None
    assert delivery.deliver_pending(session, now=now + timedelta(minutes=5))["sent"] == 0
    assert smtp_env.messages == []
    # the first worker died: past its lease the row is retried
    later = now + delivery.LEASE + timedelta(seconds=1)
    assert delivery.deliver_pending(session, now=later)["sent"] == 1
    row = _row(session, message.id)
    assert (row.status, row.attempts) == ("sent", 2)
    assert len(smtp_env.messages) == 1


def test_limit_bounds_one_run(session, smtp_env):
    for i in range(5):
        _enqueue(session, to=f"user{i}@example.org")
    assert delivery.deliver_pending(session, limit=3)["sent"] == 3
    assert delivery.deliver_pending(session, limit=3)["sent"] == 2
    assert sorted(m.rcpt_tos[0] for m in smtp_env.messages) == [
        f"user{i}@example.org" for i in range(5)
    ]
    statuses = session.exec(select(EmailMessage.status)).all()
    assert set(statuses) == {"sent"}


def test_backoff_grows_and_is_capped():
    assert delivery.backoff(1) == timedelta(minutes=1)
    assert delivery.backoff(3) == timedelta(minutes=4)
    assert delivery.backoff(30) == delivery.BACKOFF_MAX


def test_smtp_login_is_used_and_a_wrong_password_is_retried(session, smtp_env, settings_env):

    smtp_env.credentials = ("mailer", "s3cret-pw")
    settings_env(SMTP_USER="mailer", SMTP_PASSWORD="wrong-pw")
    message = _enqueue(session)
    now = utcnow()
    assert delivery.deliver_pending(session, now=now)["retry"] == 1
    row = _row(session, message.id)
    assert "authentication failed" in row.last_error
    assert "wrong-pw" not in row.last_error
    settings_env(SMTP_PASSWORD="s3cret-pw")
    assert delivery.deliver_pending(session, now=row.next_attempt_at)["sent"] == 1
    assert smtp_env.logins == ["mailer"]
    assert len(smtp_env.messages) == 1
