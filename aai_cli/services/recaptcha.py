"""Bot protection: a reCAPTCHA v2 checkbox token, checked with the verify service before a
guarded route (registration, the verification-email resend) asks Auth0 anything.

The check is a form-encoded POST of `secret` and `response` to `RECAPTCHA_VERIFY_URL`; the
verdict is the boolean `success` (v2 has no score), and, when `RECAPTCHA_HOSTNAME` is set,
the `hostname` the token was solved on. A missing token and a refused one are the caller's
fault (400, with the texts the portal shows); a verify service that gives no clear verdict,
and a server with no secret, are 503: never a silent pass. `RECAPTCHA_DISABLED` skips the
check outside production only (production refuses to start with it).
"""

from __future__ import annotations

import logging
from typing import Any

from aai_cli.errors import InvalidInput, ServiceUnavailable
from aai_cli.services.upstream import JsonService
from aai_cli.settings import Settings, get_settings

log = logging.getLogger(__name__)

MAX_TOKEN_LENGTH = 8192
# Google's codes for a request the server got wrong: our fault, not the visitor's.
SERVER_SIDE_CODES = frozenset({"missing-input-secret", "invalid-input-secret", "bad-request"})


class RecaptchaMissing(InvalidInput):
    """No token came with the request."""


class RecaptchaRejected(InvalidInput):
    """The verify service said no (or the token was solved on another site)."""


class RecaptchaUnavailable(ServiceUnavailable):
    """No verdict: the service is unreachable, answered unclearly, or no secret is set."""


def check(token: str | None, *, settings: Settings | None = None) -> None:
    """Return when the token passes; raise one of the three errors above otherwise."""
    settings = settings or get_settings()
    if skipped(settings):
        return
    if token is None or not token.strip():
        raise RecaptchaMissing("Recaptcha token is required")
    if settings.recaptcha_secret is None:
        log.error("reCAPTCHA is not configured: RECAPTCHA_SECRET is unset")
        raise RecaptchaUnavailable("bot protection is not configured: please try again later")
    if len(token) > MAX_TOKEN_LENGTH:
        raise RecaptchaRejected("Invalid recaptcha token, please try again")
    verdict = _ask(settings, token)
    if verdict.get("success") is not True:
        log.info("reCAPTCHA refused a token: %s", verdict.get("error-codes") or "no reason")
        raise RecaptchaRejected("Invalid recaptcha token, please try again")
    expected = settings.recaptcha_hostname
    if expected and str(verdict.get("hostname", "")).lower() != expected.lower():
        log.info("reCAPTCHA token solved on another host: %r", verdict.get("hostname"))
        raise RecaptchaRejected("Invalid recaptcha token, please try again")


def skipped(settings: Settings) -> bool:
    """Whether the check is off (RECAPTCHA_DISABLED, never in production)."""
    return settings.recaptcha_disabled and settings.environment != "production"


RECAPTCHA_VERIFY = JsonService(
    what="reCAPTCHA verify",
    verdict="success",
    unavailable=RecaptchaUnavailable,
    for_people="bot protection",
)


def _ask(settings: Settings, token: str) -> dict[str, Any]:
    assert settings.recaptcha_secret is not None
    verdict = RECAPTCHA_VERIFY.ask(
        "POST",
        settings.recaptcha_verify_url,
        timeout=settings.recaptcha_timeout_s,
        data={"secret": settings.recaptcha_secret.get_secret_value(), "response": token},
    )
    codes = verdict.get("error-codes")
    codes = {c for c in codes if isinstance(c, str)} if isinstance(codes, list) else set()
    if verdict["success"] is False and SERVER_SIDE_CODES & codes:
        log.error("reCAPTCHA verify refused our request: %s (check RECAPTCHA_SECRET)", codes)
        raise RECAPTCHA_VERIFY.no_answer()
    return verdict
