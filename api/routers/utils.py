"""Public helpers for the registration forms, answered from the database (rate-limited)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from aai_cli.services import registration
from api.deps import SessionDep
from api.ratelimit import RateLimit

limit = RateLimit("utils", per_minute=60, burst=60)
router = APIRouter(prefix="/utils", tags=["utils"], dependencies=[Depends(limit)])


class FieldError(BaseModel):
    field: str
    message: str


class Availability(BaseModel):
    available: bool
    field_errors: list[FieldError] = []


class RegistrationInfo(BaseModel):
    app: Literal["biocommons", "sbp"]


def _availability(errors: list[dict[str, str]]) -> Availability:
    return Availability(available=not errors, field_errors=[FieldError(**e) for e in errors])


@router.get("/username-available", response_model=Availability)
def username_available(
    session: SessionDep, username: Annotated[str, Query(max_length=1024)]
) -> Availability:
    """Whether `username` is well-formed and not taken by a live account."""
    return _availability(registration.username_available(session, username))


@router.get("/email-available", response_model=Availability)
def email_available(
    session: SessionDep, email: Annotated[str, Query(max_length=320)]
) -> Availability:
    """Whether `email` is valid and not registered to a live database account."""
    return _availability(registration.email_available(session, email))


@router.get("/registration_info", response_model=RegistrationInfo)
def registration_info(
    session: SessionDep, user_email: Annotated[str, Query(max_length=320)]
) -> RegistrationInfo:
    """Where the person registered (`biocommons` when unknown, so existence is not revealed)."""
    return RegistrationInfo(app=registration.registration_app(session, user_email))
