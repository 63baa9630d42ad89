"""reCAPTCHA checks against the local verify service: the verdict is `success` (no score),
the hostname when one is expected, and no verdict is never a pass."""

from __future__ import annotations

import socket

import pytest

from aai_cli.services import recaptcha
from aai_cli.settings import get_settings


def check(token: str | None) -> None:
    recaptcha.check(token, settings=get_settings())


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/recaptcha/api/siteverify"


def test_a_solved_token_passes_and_is_sent_with_the_secret(recaptcha_env):
    check("solved-by-a-person")
    assert recaptcha_env.requests == [
        {"secret": "local-recaptcha-secret", "response": "solved-by-a-person"}
    ]


@pytest.mark.parametrize("token", [None, "", "   "])
def test_a_missing_token_is_refused_without_asking(recaptcha_env, token):
    with pytest.raises(recaptcha.RecaptchaMissing, match=r"^Recaptcha token is required$"):
        check(token)
    assert recaptcha_env.requests == []


def test_a_refused_token_is_the_callers_fault(recaptcha_env):
    recaptcha_env.refused.add("a-bot")
    with pytest.raises(recaptcha.RecaptchaRejected, match="Invalid recaptcha token"):
        check("a-bot")


def test_a_replayed_token_is_refused(recaptcha_env):
    recaptcha_env.single_use = True
    check("once")
    with pytest.raises(recaptcha.RecaptchaRejected):
        check("once")


def test_the_expected_hostname_must_match(recaptcha_env, settings_env):
    settings_env(RECAPTCHA_HOSTNAME="Portal.Test")
    check("solved-on-the-portal")
    recaptcha_env.hostname = "evil.example"
    with pytest.raises(recaptcha.RecaptchaRejected):
        check("solved-elsewhere")


def test_without_an_expected_hostname_any_host_passes(recaptcha_env):
    recaptcha_env.hostname = "elsewhere.example"
    check("solved-elsewhere")


def test_an_unreachable_service_is_unavailable_not_a_pass(recaptcha_env, settings_env):
    settings_env(RECAPTCHA_VERIFY_URL=closed_port_url())
    with pytest.raises(recaptcha.RecaptchaUnavailable, match="unavailable"):
        check("solved")


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, {"error": "boom"}),
        (200, {"score": 0.9}),
        (200, {"success": "true"}),
        (200, ["success"]),
        (302, {"success": True}),
    ],
)
def test_an_unclear_answer_is_unavailable(recaptcha_env, status, body):
    recaptcha_env.answer_next(status, body)
    with pytest.raises(recaptcha.RecaptchaUnavailable):
        check("solved")


def test_a_wrong_secret_is_the_servers_fault(recaptcha_env, settings_env):
    settings_env(RECAPTCHA_SECRET="not-the-sites-secret")
    with pytest.raises(recaptcha.RecaptchaUnavailable):
        check("solved")


def test_odd_error_codes_are_a_plain_refusal(recaptcha_env):
    recaptcha_env.answer_next(200, {"success": False, "error-codes": [{"odd": 1}, None]})
    with pytest.raises(recaptcha.RecaptchaRejected):
        check("solved")


def test_no_secret_is_unavailable(recaptcha_env, settings_env):
    settings_env(RECAPTCHA_SECRET=None)
    with pytest.raises(recaptcha.RecaptchaUnavailable, match="not configured"):
        check("solved")
    assert recaptcha_env.requests == []


def test_an_overlong_token_is_refused_without_asking(recaptcha_env):
    with pytest.raises(recaptcha.RecaptchaRejected):
        check("x" * 8193)
    assert recaptcha_env.requests == []


def test_disabled_skips_the_check_outside_production(recaptcha_env, settings_env):
    settings_env(RECAPTCHA_DISABLED="true", RECAPTCHA_SECRET=None, ENVIRONMENT="staging")
    check(None)
    assert recaptcha_env.requests == []


def test_disabled_never_skips_in_production(recaptcha_env, settings_env):
    settings_env(RECAPTCHA_DISABLED="true", ENVIRONMENT="production")
    with pytest.raises(recaptcha.RecaptchaMissing):
        check(None)
