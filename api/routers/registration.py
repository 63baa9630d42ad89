"""Public self-service registration (rate-limited per client IP); the rules live in
`aai_cli.services.access.registration`.

The routes take no request session: the service opens its own short transactions, none
held while Auth0 answers.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Response
from pydantic import BaseModel, Field

from aai_cli.errors import AaiError, NotFound
from aai_cli.services import recaptcha
from aai_cli.services.access import registration
from aai_cli.settings import get_settings
from api import followup
from api.deps import UserSourceDep, required_gateway
from api.ratelimit import RateLimit

router = APIRouter(tags=["registration"])
limit = RateLimit("registration", per_minute=2, burst=10)

Short = Annotated[str, Field(max_length=1024)]
MAX_BUNDLES = 10


class _Person(BaseModel):
    first_name: Short
    last_name: Short
    email: Annotated[str, Field(max_length=320)]
    username: Short
    password: Short
    # checked before anything else: missing or refused is 400, no verdict is 503
    recaptcha_token: Annotated[str | None, Field(max_length=8192)] = None

    def form(self, kind: registration.Kind, **extra: Any) -> registration.Registration:
        person = self.model_dump(
            include={"first_name", "last_name", "email", "username", "password"}
        )
        return registration.Registration(kind=kind, **person, **extra)


class BundleRequest(BaseModel):
    bundle_id: Annotated[str, Field(max_length=255, examples=["tsi"])]
    reason: Annotated[str | None, Field(max_length=4096)] = None


class BiocommonsRegistration(_Person):
    bundles: Annotated[
        list[BundleRequest] | None,
        Field(max_length=MAX_BUNDLES, description="the bundles asked for, each with a reason"),
    ] = None
    bundle: Annotated[
        str | None, Field(max_length=255, description="older form of one bundle (`bundles`)")
    ] = None
    reason: Annotated[str | None, Field(max_length=4096, description="`bundle`'s reason")] = None

    def choices(self) -> tuple[registration.BundleChoice, ...]:
        listed = [registration.BundleChoice(b.bundle_id, b.reason) for b in self.bundles or []]
        if self.bundle is not None:
            listed.append(registration.BundleChoice(self.bundle, self.reason, field="bundle"))
        return tuple(listed)


class SbpRegistration(_Person):
    reason: Annotated[str | None, Field(max_length=4096)] = None


class Membership(BaseModel):
    kind: str
    id: str
    name: str
    status: str


class Registered(BaseModel):
    message: str
    email: str
    username: str
    user_id: str
    memberships: list[Membership] = []


_ERROR = "`{message, field_errors: [{field, message}], detail}`"
_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {
        "model": Registered,
        "description": "the account exists; its access requests are recorded shortly",
    },
    400: {
        "description": "invalid fields, a missing or refused reCAPTCHA token, or the bundle's "
        f"email rule: {_ERROR}"
    },
    409: {"description": f"the email and/or username are already taken: {_ERROR}"},
    429: {"description": "too many requests from this client (see Retry-After)"},
    503: {
        "description": "Auth0, the database, the institution check or the reCAPTCHA verify "
        "service is unavailable"
    },
}
_ROUTE: dict[str, Any] = {
    "status_code": 201,
    "response_model": Registered,
    "responses": _RESPONSES,
    "dependencies": [Depends(limit)],
}


def _register(
    form: registration.Registration,
    recaptcha_token: str | None,
    source: Any,
    response: Response,
    background: BackgroundTasks,
) -> Registered:
    recaptcha.check(recaptcha_token)
    gateway = required_gateway(source)
    try:
        outcome = registration.register(form, gateway=gateway)
    except AaiError as exc:
        # The portal reads `message` only from bodies that also carry `field_errors`.
        if getattr(exc, "field_errors", None) is None:
            exc.field_errors = []  # type: ignore[attr-defined]  # read by the error handler
        raise
    response.status_code = 201 if outcome.completed else 202
    followup.schedule_after_commit(
        background, outcome.role_change_ids, deliver_emails=outcome.completed
    )
    return Registered(
        message=outcome.message,
        email=outcome.email,
        username=outcome.username,
        user_id=outcome.user_id,
        memberships=[Membership(**m) for m in outcome.memberships],
    )


@router.post("/biocommons/register", **_ROUTE)
def register_biocommons(
    body: BiocommonsRegistration,
    response: Response,
    background: BackgroundTasks,
    source: UserSourceDep,
) -> Registered:
    """Register for BioCommons, optionally asking for bundles (groups)."""
    form = body.form("biocommons", bundles=body.choices())
    return _register(form, body.recaptcha_token, source, response, background)


@router.post("/sbp/register", **_ROUTE)
def register_sbp(
    body: SbpRegistration, response: Response, background: BackgroundTasks, source: UserSourceDep
) -> Registered:
    """Register for the Structural Biology Platform (member institutions' emails only).
    Off (404) when SBP registration is disabled (`SBP_REGISTRATION_ENABLED`)."""
    if not get_settings().sbp_registration_on:
        raise NotFound("Not Found")
    form = body.form("sbp", reason=body.reason)
    return _register(form, body.recaptcha_token, source, response, background)
