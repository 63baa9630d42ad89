"""Public self-service registration (rate-limited per client IP); the rules live in
`aai_cli.services.registration`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Response
from pydantic import BaseModel, Field

from aai_cli.errors import ServiceUnavailable
from aai_cli.services import emails, registration
from api import followup
from api.deps import SessionDep, UserSourceDep
from api.ratelimit import RateLimit

router = APIRouter(tags=["registration"])
limit = RateLimit("registration", per_minute=2, burst=10)

Short = Annotated[str, Field(max_length=1024)]


class _Person(BaseModel):
    first_name: Short
    last_name: Short
    email: Annotated[str, Field(max_length=320)]
    username: Short
    password: Short
    reason: Annotated[str | None, Field(max_length=4096)] = None


class BiocommonsRegistration(_Person):
    bundle: Annotated[str | None, Field(max_length=255, examples=["tsi"])] = None


class SbpRegistration(_Person):
    pass


class Membership(BaseModel):
    kind: str
    id: str
    name: str
    status: str


class Registered(BaseModel):
    message: str
    email: str
    username: str
    user_id: str | None = None
    memberships: list[Membership] = []


_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": Registered, "description": "already registered (a retry)"},
    400: {"description": "invalid fields: `{message, field_errors: [{field, message}]}`"},
    409: {"description": "the email or username belongs to another account"},
    429: {"description": "too many requests from this client (see Retry-After)"},
    503: {"description": "Auth0 or the database is unavailable; sending again is safe"},
}


def _register(
    form: registration.Registration,
    session: Any,
    source: Any,
    response: Response,
    background: BackgroundTasks,
) -> Registered:
    if source is None:
        raise ServiceUnavailable("registration is unavailable: Auth0 is not configured")
    outcome = registration.register(session, form, gateway=source)
    response.status_code = 201 if outcome.created else 200
    if outcome.role_change_ids:
        background.add_task(followup.push_role_changes, outcome.role_change_ids)
    background.add_task(emails.deliver_in_background)
    if not outcome.created:
        return Registered(message=outcome.message, email=outcome.email, username=outcome.username)
    return Registered(
        message=outcome.message,
        email=outcome.email,
        username=outcome.username,
        user_id=outcome.user_id,
        memberships=[Membership(**m) for m in outcome.memberships],
    )


@router.post(
    "/biocommons/register",
    status_code=201,
    response_model=Registered,
    responses=_RESPONSES,
    dependencies=[Depends(limit)],
)
def register_biocommons(
    body: BiocommonsRegistration,
    session: SessionDep,
    response: Response,
    background: BackgroundTasks,
    source: UserSourceDep,
) -> Registered:
    """Register for BioCommons, optionally asking for a bundle (a group)."""
    form = registration.Registration(kind="biocommons", **body.model_dump())
    return _register(form, session, source, response, background)


@router.post(
    "/sbp/register",
    status_code=201,
    response_model=Registered,
    responses=_RESPONSES,
    dependencies=[Depends(limit)],
)
def register_sbp(
    body: SbpRegistration,
    session: SessionDep,
    response: Response,
    background: BackgroundTasks,
    source: UserSourceDep,
) -> Registered:
    """Register for the Structural Biology Platform (member institutions' emails only)."""
    form = registration.Registration(kind="sbp", **body.model_dump())
    return _register(form, session, source, response, background)
