"""Typed Auth0 records for the gateway (`services/auth0.py` re-exports them)."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from aai_cli.errors import Auth0Error
from aai_cli.models.identity import Auth0Profile


class _Auth0Key(BaseModel):
    user_id: str = Field(min_length=3)


class Auth0User(Auth0Profile, _Auth0Key):
    """A user as Auth0 answers: the key, the profile the mirror copies, and the rest.
    (Pydantic lists the bases' fields from the last base to the first: the key leads.)"""

    model_config = ConfigDict(extra="ignore")

    nickname: str | None = None
    logins_count: int | None = None
    last_ip: str | None = None
    identities: list[dict[str, Any]] = Field(default_factory=list)
    app_metadata: dict[str, Any] = Field(default_factory=dict)
    user_metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("email_verified", "blocked", mode="before")
    @classmethod
    def _none_is_false(cls, value: Any) -> Any:
        return False if value is None else value

    @field_validator("identities", "app_metadata", "user_metadata", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            return [] if info.field_name == "identities" else {}
        return value

    @field_validator("created_at", "updated_at", "last_login")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Auth0Role(BaseModel):
    id: str
    name: str
    description: str | None = None


class RoleMember(BaseModel):
    model_config = ConfigDict(extra="ignore")

    user_id: str
    email: str | None = None
    name: str | None = None
    picture: str | None = None


def auth0_timestamp(value: datetime) -> str:
    """Auth0's ISO form with milliseconds: 2026-01-01T00:00:00.000Z."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def dump(model: Any) -> dict[str, Any]:
    return model.model_dump() if hasattr(model, "model_dump") else dict(model)


class MalformedRecord(Auth0Error):
    """Auth0 answered, but a record does not have the shape we need."""

    def __init__(self, message: str, *, status_code: int = 200) -> None:
        super().__init__(message, status_code=status_code, error_code="malformed")


def to_user(model: Any, what: str) -> Auth0User:
    try:
        return Auth0User.model_validate(dump(model))
    except ValidationError:
        raise MalformedRecord(f"Auth0 sent a malformed user record ({what})") from None


def parse_export(path: str, on_skip: Callable[[str], None] | None) -> Iterator[Auth0User]:
    with gzip.open(path, "rb") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                yield Auth0User.model_validate_json(line)
            except (ValueError, ValidationError) as exc:
                if on_skip:
                    on_skip(f"export line {number}: {type(exc).__name__}")
