"""The shapes the admin routes answer in (the portal's names), and the mapping from the
directory's records to them. Declared as response models, so the OpenAPI document
states them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from aai_cli.services.access.profile import PORTAL_PLATFORMS
from aai_cli.services.auth0.models import Auth0User
from aai_cli.services.directory.query import UserRecord

Status = Literal["pending", "approved", "rejected", "revoked"]


class _Membership(BaseModel):
    id: str = Field(description="Unique per membership kind; a list key")
    user_id: str
    approval_status: Status
    updated_by: str = Field(
        description="The deciding admin's email (their id without a row), or (automatic)"
    )
    updated_at: datetime
    request_reason: str | None = None
    revocation_reason: str | None = Field(default=None, description="Set while revoked")
    rejection_reason: str | None = Field(default=None, description="Set while rejected")
    requested_at: datetime | None = None


class AdminPlatformMembership(_Membership):
    platform_id: str
    platform_name: str


class AdminGroupMembership(_Membership):
    group_id: str = Field(description="The full id, e.g. biocommons/group/tsi")
    group_name: str
    group_short_name: str


class AdminUserListItem(BaseModel):
    id: str = Field(description="The Auth0 user id")
    email: str | None
    email_verified: bool
    username: str | None
    created_at: datetime | None
    platform_memberships: list[AdminPlatformMembership] = Field(
        description="All of the user's platform memberships, whoever administers them"
    )
    group_memberships: list[AdminGroupMembership]


class AdminUser(AdminUserListItem):
    """The database's copy of a user (no Auth0 call)."""

    name: str | None
    given_name: str | None
    family_name: str | None
    picture: str | None
    blocked: bool
    updated_at: datetime | None
    last_login: datetime | None
    synced_at: datetime | None


class IdentityChange(BaseModel):
    """One row of the identity history (username, email, name, deleted, restored...)."""

    kind: str
    old_value: str | None
    new_value: str | None
    actor: str
    reason: str | None
    created_at: datetime


class AdminUserDetails(Auth0User):
    """Auth0's user (read live) with all of the user's memberships from the database."""

    platform_memberships: list[AdminPlatformMembership]
    group_memberships: list[AdminGroupMembership]
    identity_history: list[IdentityChange] = Field(
        default_factory=list, description="The user's identity changes, oldest first"
    )


class UserPages(BaseModel):
    total: int = Field(description="Users matching the query")
    pages: int = Field(description="ceil(total / per_page); 0 when total is 0")
    per_page: int


class UserCounts(BaseModel):
    all: int
    pending: int = Field(description="With a pending membership the caller administers")
    revoked: int = Field(description="With a revoked membership the caller administers")
    unverified: int = Field(description="Whose email is not verified")


class FilterOption(BaseModel):
    id: str = Field(description="A filter_by value: a platform id or a group's last part")
    name: str


class DecisionResult(BaseModel):
    updated: bool = Field(description="False for a repeat, which changes nothing")
    user_id: str
    platform_id: str | None = None
    group_id: str | None = None
    action: str
    from_status: Status | None
    status: Status


class MessageResult(BaseModel):
    message: str
    job: str | None = Field(default=None, description="The Auth0 job id")


def _membership(user_id: str, row: dict[str, Any]) -> dict[str, Any]:
    status, reason = row["status"], row["reason"]
    return {
        "id": row["id"],
        "user_id": user_id,
        "approval_status": status,
        "updated_by": row["updated_by"],
        "updated_at": row["updated_at"],
        "request_reason": row["request_reason"],
        "revocation_reason": reason if status == "revoked" else None,
        "rejection_reason": reason if status == "rejected" else None,
        "requested_at": row["requested_at"],
    }


def platform_memberships(record: UserRecord, *, portal_only: bool = False) -> list[dict]:
    return [
        {**_membership(record.id, m), "platform_id": m["platform_id"], "platform_name": m["name"]}
        for m in record.platform_memberships
        if not portal_only or m["platform_id"] in PORTAL_PLATFORMS
    ]


def group_memberships(record: UserRecord) -> list[dict]:
    return [
        {
            **_membership(record.id, m),
            "group_id": m["group_id"],
            "group_name": m["name"],
            "group_short_name": m["short_name"],
        }
        for m in record.group_memberships
    ]


def list_item(record: UserRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "email": record.email,
        "email_verified": record.email_verified,
        "username": record.username,
        "created_at": record.created_at,
        "platform_memberships": platform_memberships(record),
        "group_memberships": group_memberships(record),
    }


def admin_user(record: UserRecord) -> dict[str, Any]:
    extra: tuple[str, ...]
    extra = ("name", "given_name", "family_name", "picture", "blocked", "updated_at")
    extra += ("last_login", "synced_at")
    return {**list_item(record), **{name: getattr(record, name) for name in extra}}


def details(remote: Auth0User, record: UserRecord) -> dict[str, Any]:
    """Auth0's fields as Auth0 has them (an absent collection or flag as its default)."""
    return {
        **remote.model_dump(),
        "user_id": record.id,
        "platform_memberships": platform_memberships(record, portal_only=True),
        "group_memberships": group_memberships(record),
    }
