"""The routes Auth0's Actions send people to (public: no bearer token).

An Action's session token, not a bearer token, says who the person is: the legacy
password migration (`/me/migration/...`) and the verification resend, which reCAPTCHA
also guards. The welcome email names only an address, so its answer is the same whatever
happens and it mails only a verified Auth0 account, once. Every route is rate-limited per
client; the resend also per user. The services open their own short transactions, none
held while Auth0 answers.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field

from aai_cli.services import actions, recaptcha
from api import followup
from api.deps import SettingsDep, UserSourceDep, required_gateway
from api.ratelimit import RateLimit

router = APIRouter(tags=["auth0 actions"])
migration_limit = RateLimit("migration", per_minute=6, burst=10)
resend_limit = RateLimit("verification-resend", per_minute=2, burst=5)
resend_user_limit = RateLimit("verification-resend-user", per_minute=1, burst=3)
welcome_limit = RateLimit("welcome", per_minute=6, burst=10)

SessionTokenField = Annotated[str, Field(min_length=1, max_length=8192)]


class Message(BaseModel):
    message: str


class PasswordMigration(BaseModel):
    session_token: SessionTokenField
    client_id: Annotated[
        str,
        Field(
            min_length=1,
            max_length=128,
            pattern=actions.CLIENT_ID_PATTERN,
            description="An Auth0 client id: letters, digits, - and _",
            examples=["a1b2c3"],
        ),
    ]


class VerificationResend(BaseModel):
    session_token: SessionTokenField
    recaptcha_token: Annotated[str, Field(min_length=1, max_length=8192)]


class WelcomeRequest(BaseModel):
    email: Annotated[str, Field(min_length=3, max_length=320)]


_TOKEN_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "a missing field, or a session token without the claims needed"},
    401: {"description": "the session token is invalid, expired or already used"},
    429: {"description": "too many requests from this client (see Retry-After)"},
    503: {"description": "Auth0 (or the database) is unavailable; the link may be retried"},
}
WELCOME_ANSWER = "If a verified account uses this address, it has been sent its welcome email."


@router.post(
    "/me/migration/update-password",
    response_model=Message,
    responses=_TOKEN_ERRORS,
    dependencies=[Depends(migration_limit)],
)
def update_password(
    body: PasswordMigration, settings: SettingsDep, source: UserSourceDep
) -> Message:
    """Step 1 of the legacy password migration: Auth0 emails the person of the Action's
    session token (`sub`, `email`) a link to set a new password, for `client_id`."""
    actions.start_password_migration(
        body.session_token, body.client_id, gateway=required_gateway(source), settings=settings
    )
    return Message(message="Password change initiated successfully")


@router.get(
    "/me/migration/password-changed",
    status_code=307,
    response_class=RedirectResponse,
    responses={**_TOKEN_ERRORS, 307: {"description": "to `/continue` on the login domain"}},
    dependencies=[Depends(migration_limit)],
)
def password_changed(
    state: Annotated[str, Query(min_length=1, max_length=2048)],
    session_token: Annotated[str, Query(min_length=1, max_length=8192)],
    settings: SettingsDep,
    source: UserSourceDep,
    background: BackgroundTasks,
) -> RedirectResponse:
    """Step 2, reached by the browser from Auth0: clears `user_needs_migration`, queues the
    welcome email (once per person) and resumes the login at Auth0's `/continue`."""
    done = actions.complete_password_migration(
        session_token, state, gateway=required_gateway(source), settings=settings
    )
    followup.schedule_after_commit(background, [], deliver_emails=done.welcome_queued)
    return RedirectResponse(done.continue_url, status_code=307)


@router.post(
    "/me/email-verification/resend",
    response_model=Message,
    responses={
        **_TOKEN_ERRORS,
        400: {"description": "a refused reCAPTCHA token, or a token without the claims needed"},
        503: {"description": "Auth0, the database or the reCAPTCHA verify service is unavailable"},
    },
    dependencies=[Depends(resend_limit)],
)
def resend_verification(
    body: VerificationResend, request: Request, settings: SettingsDep, source: UserSourceDep
) -> Message:
    """Auth0 sends the verification email again to the user of the Action's session token
    (`purpose` = `unverified_email_resend`, `user_id`), after the reCAPTCHA check."""
    recaptcha.check(body.recaptcha_token, settings=settings)
    checked = actions.check_resend_token(body.session_token, settings)
    resend_user_limit.check(request, checked.user_id)
    actions.resend_verification_email(checked, gateway=required_gateway(source))
    return Message(message="Verification email sent successfully")


@router.post(
    "/utils/send-welcome-email",
    response_model=Message,
    responses={
        400: {"description": "not an email address"},
        429: {"description": "too many requests from this client (see Retry-After)"},
        503: {"description": "Auth0 (or the database) is unavailable"},
    },
    dependencies=[Depends(welcome_limit)],
)
def send_welcome_email(
    body: WelcomeRequest, source: UserSourceDep, background: BackgroundTasks
) -> Message:
    """The welcome email for a verified address (the portal's email-verified page). The
    answer is the same whether or not an email went: only a verified Auth0 account of the
    address gets one, and only once."""
    queued = actions.send_welcome(body.email, gateway=required_gateway(source))
    followup.schedule_after_commit(background, [], deliver_emails=queued)
    return Message(message=WELCOME_ANSWER)
