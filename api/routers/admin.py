"""Admin routes (`/admin/...`), in the shapes the portal reads (`admin_schemas`).

Super-admins administer every platform and group; platform and group admins only theirs.
Lists show the users the caller manages (a membership in one of their platforms or
groups), never the caller; a single user the caller does not manage is 403, a missing or
soft-deleted one 404. Nobody decides their own access.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from aai_cli.errors import Auth0Error, NotFound
from aai_cli.models import TARGET_TABLES, Kind, Target
from aai_cli.services import accounts, directory
from aai_cli.services.access import scopes
from aai_cli.services.access.memberships import MAX_REASON_LENGTH, transition
from api.deps import (
    AdminDep,
    CallerDep,
    SessionDep,
    UserSourceDep,
    gateway_for_call,
)
from api.followup import after_decision, decision_response
from api.routers import Item
from api.routers import admin_schemas as shapes
from api.routers.admin_schemas import Status

router = APIRouter(prefix="/admin", tags=["admin"])

SORT_PATTERN = r"^-?[a-z_]{1,32}$"
UserId = Annotated[str, Path(min_length=1, max_length=255)]
Page = Annotated[int, Query(ge=1, le=1_000_000, description="1-based")]
PerPage = Annotated[int, Query(ge=1, le=100)]


class Decision(StrEnum):
    approve = "approve"
    reject = "reject"
    revoke = "revoke"
    unrevoke = "unrevoke"
    unreject = "unreject"


class DecisionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(
        default=None,
        max_length=MAX_REASON_LENGTH,
        description="Required to reject (1-255 characters after trimming); optional otherwise",
    )


async def user_query(
    caller: CallerDep,
    filter_by: Annotated[
        str | None,
        Query(max_length=128, description="An id from GET /admin/filters (any status)"),
    ] = None,
    approval_status: Annotated[
        Status | None, Query(description="A membership in this status that the caller administers")
    ] = None,
    platform: Annotated[str | None, Query(max_length=64)] = None,
    platform_approval_status: Annotated[
        Status | None, Query(description="The status of the `platform` membership")
    ] = None,
    group: Annotated[str | None, Query(max_length=255, description="A full group id")] = None,
    group_approval_status: Annotated[
        Status | None, Query(description="The status of the `group` membership")
    ] = None,
    email_verified: bool | None = None,
    search: Annotated[
        str | None,
        Query(max_length=320, description="Email or username substring, case-insensitive"),
    ] = None,
) -> directory.UserQuery:
    """The portal's list filters; the calling admin is never listed."""
    return directory.UserQuery(
        filter_by=filter_by,
        status=approval_status,
        platform=platform,
        platform_status=platform_approval_status,
        group=group,
        group_status=group_approval_status,
        email_verified=email_verified,
        search=search,
        exclude=caller.sub,
    )


QueryDep = Annotated[directory.UserQuery, Depends(user_query)]


def managed_user(user_id: UserId, who: AdminDep, session: SessionDep) -> directory.UserRecord:
    """The user of the path, if the caller manages them (404 for a missing or deleted
    user, 403 out of scope)."""
    return scopes.require_managed_user(session, who, user_id)


ManagedDep = Annotated[directory.UserRecord, Depends(managed_user)]


@router.get(
    "/users",
    summary="One page of the users the caller manages",
    response_model=list[shapes.AdminUserListItem],
)
def list_users(
    who: AdminDep,
    session: SessionDep,
    query: QueryDep,
    page: Page = 1,
    per_page: PerPage = 50,
    sort: Annotated[str, Query(pattern=SORT_PATTERN)] = "-created_at",
) -> list[Item]:
    records = directory.list_users(
        session, query, scope=who.scope, limit=per_page, offset=(page - 1) * per_page, sort=sort
    )
    return [shapes.list_item(record) for record in records]


@router.get(
    "/users/pages",
    summary="How many users and pages GET /admin/users has for the same query",
    response_model=shapes.UserPages,
)
def user_pages(
    who: AdminDep, session: SessionDep, query: QueryDep, page: Page = 1, per_page: PerPage = 50
) -> Item:
    """`page` is accepted (the portal sends the list's query as it is) and not used."""
    total = directory.count_users(session, query, scope=who.scope)
    return {"total": total, "pages": math.ceil(total / per_page), "per_page": per_page}


@router.get(
    "/users/counts",
    summary="The navbar badges: all, pending, revoked and unverified users",
    response_model=shapes.UserCounts,
)
def user_counts(who: AdminDep, session: SessionDep, query: QueryDep) -> Item:
    return directory.badge_counts(session, query, scope=who.scope)


@router.get(
    "/users/counts/by-target",
    summary="Memberships per platform/group and status within the caller's scope",
)
def user_counts_by_target(who: AdminDep, session: SessionDep) -> Item:
    return directory.status_counts(session, scope=who.scope)


@router.get(
    "/filters",
    summary="The filter_by options: platforms, then groups",
    response_model=list[shapes.FilterOption],
)
def filters(who: AdminDep, session: SessionDep) -> list[Item]:
    return [{"id": id_, "name": name} for id_, name in directory.filter_options(session)]


@router.get(
    "/users/{user_id}",
    summary="The database's copy of one user and all their memberships",
    response_model=shapes.AdminUser,
)
def get_user(record: ManagedDep) -> Item:
    return shapes.admin_user(record)


@router.get(
    "/users/{user_id}/details",
    summary="The user as Auth0 has them (one Auth0 call), with all their memberships",
    response_model=shapes.AdminUserDetails,
)
def get_user_details(record: ManagedDep, session: SessionDep, source: UserSourceDep) -> Item:
    events = [accounts.event_dict(e) for e in accounts.list_identity_history(session, record.id)]
    remote = gateway_for_call(session, source).get_user(record.id)
    if remote is None:
        raise _not_in_auth0(record.id)
    return {**shapes.details(remote, record), "identity_history": events}


@router.get("/users/{user_id}/history", summary="The user's membership events, oldest first")
def get_user_history(record: ManagedDep, who: AdminDep, session: SessionDep) -> list[Item]:
    history = directory.list_history(session, record.id, scope=who.scope)
    return [event.model_dump() for event in history]


@router.post(
    "/users/{user_id}/verification-email/resend",
    summary="Auth0 sends the verification email again",
    response_model=shapes.MessageResult,
)
@router.post(
    "/users/{user_id}/verification-email",
    summary="The same as .../verification-email/resend (older path)",
    response_model=shapes.MessageResult,
)
def resend_verification(record: ManagedDep, session: SessionDep, source: UserSourceDep) -> Item:
    try:
        job = gateway_for_call(session, source).send_verification_email(record.id)
    except Auth0Error as exc:
        if exc.status_code == 404:
            raise _not_in_auth0(record.id) from None
        raise
    return {"message": "Verification email resent.", "job": job}


def _not_in_auth0(user_id: str) -> NotFound:
    return NotFound(f"User '{user_id}' does not exist in Auth0")


DECISION_HELP = (
    "approve (also from revoked or rejected: access is given back), reject (a reason is "
    "required), revoke, unrevoke (= approve from revoked), unreject (back to pending). "
    'Body `{}` or `{"reason": ...}`. The Auth0 role change is pushed after commit.'
)


def _decision_route(kind: Kind, path: str, *, max_length: int, summary: str) -> None:
    """`POST {path}`: decide a membership of `kind`; the target's id is the path's
    `{kind}_id`. The platform and group routes are this one handler."""

    @router.post(
        path,
        name=f"decide_{kind}",
        summary=summary,
        description=DECISION_HELP,
        response_model=shapes.DecisionResult,
    )
    def decide(
        user_id: UserId,
        target_id: str = Path(alias=TARGET_TABLES[kind].key, min_length=1, max_length=max_length),
        *,
        action: Decision,
        who: AdminDep,
        caller: CallerDep,
        session: SessionDep,
        background: BackgroundTasks,
        body: DecisionBody | None = None,
    ) -> Item:
        target = Target(kind, target_id)
        scopes.require_decidable(session, who, actor=caller.sub, user_id=user_id, target=target)
        result = transition(
            session,
            user_id=user_id,
            target=target,
            action=action.value,
            actor=caller.sub,
            reason=body.reason if body else None,
        )
        after_decision(session, background, result)
        return decision_response(result)


_decision_route(
    "platform",
    "/users/{user_id}/platforms/{platform_id}/{action}",
    max_length=64,
    summary="Decide a platform membership",
)
_decision_route(
    "group",
    "/users/{user_id}/groups/{group_id:path}/{action}",
    max_length=255,
    summary="Decide a group membership (the group id keeps its slashes)",
)
