"""The flows Auth0's Actions start: the legacy password migration (the password-change
email, then the completion that resumes the login) and the verification-email resend.

Each checks the Action's session token (`session_tokens`), spends it in a short
transaction, then calls Auth0 with no transaction open; when that call fails the spend
is released so the same link can be tried again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar
from urllib.parse import urlencode

from aai_cli.db import session_scope
from aai_cli.errors import ConfigError, Conflict, NotFound
from aai_cli.services.actions import session_tokens
from aai_cli.services.actions.session_tokens import SessionToken, SessionTokenClaims
from aai_cli.services.actions.welcome import queue_welcome
from aai_cli.settings import Settings

RESEND_PURPOSE = "unverified_email_resend"
MIGRATION_FLAG = "user_needs_migration"
CLIENT_ID_PATTERN = r"^[A-Za-z0-9_-]{1,128}$"  # an Auth0 application's client id
MAX_STATE_LENGTH = 2048
T = TypeVar("T")


class Auth0Calls(Protocol):
    """What the flows need of Auth0 (the gateway)."""

    def send_password_change_email(self, email: str, *, client_id: str) -> None: ...
    def update_user(self, user_id: str, **fields: Any) -> Any: ...
    def get_user(self, user_id: str) -> Any: ...
    def send_verification_email(self, user_id: str) -> str: ...


@dataclass(frozen=True)
class Completion:
    """Where the browser resumes the login, and whether a welcome email was queued."""

    continue_url: str
    welcome_queued: bool


@dataclass(frozen=True)
class ResendRequest:
    """A checked resend token and the user it names."""

    token: SessionToken
    user_id: str


def start_password_migration(
    session_token: str,
    client_id: str,
    *,
    gateway: Auth0Calls,
    settings: Settings,
) -> None:
    """Auth0 emails the token's person a link to set a new password, for `client_id`."""
    token = _migration_token(session_token, settings)
    user_id, email = token.text("sub"), token.text("email")
    _spent_while(
        token,
        "migration",
        user_id,
        lambda: gateway.send_password_change_email(email, client_id=client_id),
    )


def complete_password_migration(
    session_token: str,
    state: str,
    *,
    gateway: Auth0Calls,
    settings: Settings,
) -> Completion:
    """The password is set: clear the migration flag in Auth0, queue the welcome email
    (once per person) and say where the login resumes."""
    target = continue_url(settings, state)
    token = _migration_token(session_token, settings)
    user_id = token.text("sub")

    person = _spent_while(
        token,
        "migration-complete",
        user_id,
        # the PATCH answers with the whole user (an unknown one is NotFound)
        lambda: gateway.update_user(user_id, app_metadata={MIGRATION_FLAG: False}),
    )
    queued = False
    if person.email:
        with session_scope() as session:
            queued = queue_welcome(session, user_id=user_id, email=person.email, name=person.name)
    return Completion(continue_url=target, welcome_queued=queued)


def check_resend_token(session_token: str, settings: Settings) -> ResendRequest:
    """The resend token checked (signature, expiry, purpose, user id), not yet spent."""
    token = session_tokens.verify(session_token, settings.action_token_secret)
    if token.claims.get("purpose") != RESEND_PURPOSE:
        raise SessionTokenClaims("Invalid session token: wrong purpose")
    user_id = token.text("user_id", missing="Invalid session token: missing user id")
    return ResendRequest(token=token, user_id=user_id)


def resend_verification_email(request: ResendRequest, *, gateway: Auth0Calls) -> None:
    """Auth0 sends the user's verification email again (a job for that user only)."""

    def send() -> None:
        person = gateway.get_user(request.user_id)
        if person is None:
            raise NotFound("The account of this sign-in no longer exists.")
        if person.email_verified:
            raise Conflict("This email address is already verified: sign in again.")
        gateway.send_verification_email(request.user_id)

    _spent_while(request.token, "verification-resend", request.user_id, send)


def continue_url(settings: Settings, state: str) -> str:
    """Auth0's `/continue` on the login domain (AUTH0_CUSTOM_DOMAIN, else the tenant's)."""
    if not state or len(state) > MAX_STATE_LENGTH or not state.isprintable():
        raise SessionTokenClaims("state: expected the state Auth0 sent")
    if settings.auth0_custom_domain:
        base = settings.auth0_custom_domain
    elif settings.auth0_domain:
        base = f"https://{settings.auth0_domain}"
    else:
        raise ConfigError("AUTH0_CUSTOM_DOMAIN (or AUTH0_DOMAIN) is needed to resume the login")
    return f"{base}/continue?{urlencode({'state': state})}"


def _migration_token(session_token: str, settings: Settings) -> SessionToken:
    token = session_tokens.verify(session_token, settings.action_token_secret)
    if token.claims.get("purpose") == RESEND_PURPOSE:
        raise SessionTokenClaims("Invalid session token: wrong purpose")
    return token


def _spent_while(token: SessionToken, flow: str, user_id: str, call: Callable[[], T]) -> T:
    """Spend the token, then make the Auth0 call; a failed call releases the spend."""
    session_tokens.spend(token, flow=flow, user_id=user_id)
    try:
        return call()
    except Conflict:
        raise  # nothing to retry: the token stays spent
    except BaseException:
        session_tokens.release(token)
        raise
