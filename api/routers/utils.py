"""Public helpers for the registration forms (no token, rate-limited per client).

The availability routes reveal whether an account has an email or username: that is what
they are for. They are rate-limited tightly per client so that enumerating accounts is
slow. `/utils/register/...` are the paths the portal calls; the older paths stay as aliases.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sqlmodel import Session

from aai_cli.models import GROUP_PREFIX
from aai_cli.services.access import catalog, institutions, registration
from aai_cli.services.access.registration import RegistrationInvalid
from api.deps import SessionDep
from api.ratelimit import RateLimit

availability_limit = RateLimit("availability", per_minute=6, burst=20)
limit = RateLimit("utils", per_minute=30, burst=30)
router = APIRouter(prefix="/utils", tags=["utils"])

Email = Annotated[str, Query(max_length=320)]
Username = Annotated[str, Query(max_length=1024)]


class FieldError(BaseModel):
    field: str
    message: str


class Availability(BaseModel):
    available: bool
    field_errors: list[FieldError] = []


class Bundle(BaseModel):
    bundle_id: str
    group_id: str
    name: str
    short_name: str


class RegistrationInfo(BaseModel):
    app: Literal["biocommons", "sbp"]
    bundles: list[Bundle] = Field(description="the bundles registration offers, from the catalog")


class InstitutionCheck(BaseModel):
    is_australian_research_institution: bool


def _availability(errors: list[dict[str, str]]) -> Availability:
    return Availability(available=not errors, field_errors=[FieldError(**e) for e in errors])


AVAILABILITY: dict[str, Any] = {
    "response_model": Availability,
    "dependencies": [Depends(availability_limit)],
}
INFO: dict[str, Any] = {"response_model": RegistrationInfo, "dependencies": [Depends(limit)]}


@router.get("/register/username-availability", **AVAILABILITY)
@router.get("/username-available", **AVAILABILITY)
def username_available(session: SessionDep, username: Username) -> Availability:
    """Whether `username` is well-formed and no account (live or deleted) has it."""
    return _availability(registration.username_available(session, username))


@router.get("/register/email-availability", **AVAILABILITY)
@router.get("/email-available", **AVAILABILITY)
def email_available(session: SessionDep, email: Email) -> Availability:
    """Whether `email` is valid and no database account (live or deleted) has it."""
    return _availability(registration.email_available(session, email))


@router.get("/register/registration-info", **INFO)
def registration_info(session: SessionDep, email: Email) -> RegistrationInfo:
    """Where the person registered (`biocommons` when unknown, so existence is not revealed)."""
    return _registration_info(session, email)


@router.get("/registration_info", **INFO)
def registration_info_alias(session: SessionDep, user_email: Email) -> RegistrationInfo:
    """The older path of `/utils/register/registration-info`."""
    return _registration_info(session, user_email)


@router.get(
    "/register/check-australian-research-institution",
    response_model=InstitutionCheck,
    dependencies=[Depends(limit)],
    responses={
        400: {"description": "not a valid email address"},
        503: {"description": "the institution check gave no clear answer (never a false no)"},
    },
)
async def check_australian_research_institution(email: Email) -> InstitutionCheck:
    """Whether `email` belongs to an Australian research institution (public: no token)."""
    email = email.strip()
    errors = registration.email_errors(email)
    if errors:
        raise RegistrationInvalid(errors)
    valid = await run_in_threadpool(institutions.is_australian_research_institution, email)
    return InstitutionCheck(is_australian_research_institution=valid)


def _registration_info(session: Session, email: str) -> RegistrationInfo:
    bundles = [
        Bundle(
            bundle_id=group.id.removeprefix(GROUP_PREFIX),
            group_id=group.id,
            name=group.name,
            short_name=group.short_name,
        )
        for group in catalog.offered_groups(session)
    ]
    return RegistrationInfo(app=registration.registration_app(session, email), bundles=bundles)
