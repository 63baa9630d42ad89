"""Admin routes (`/admin/...`): super-admins see everything, platform and group admins only
the platforms and groups they administer. A user outside the caller's scope is a 404.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from aai_cli.errors import Auth0Error, NotFound, ServiceUnavailable
from aai_cli.models import MEMBERSHIP_STATUSES
from aai_cli.services import access, directory
from aai_cli.services.access import Administered, Forbidden
from aai_cli.services.memberships import MAX_REASON_LENGTH, Target, transition
from api.deps import AdminDep, CallerDep, SessionDep, UserSourceDep
from api.followup import after_decision, decision_response

router = APIRouter(prefix="/admin", tags=["admin"])

Item = dict[str, Any]
Status = Literal["pending", "approved", "rejected", "revoked"]
SORT_PATTERN = r"^-?[a-z_]{1,32}$"
UserId = Annotated[str, Path(min_length=1, max_length=255)]
AUTH0_DETAIL_FIELDS = (
    "last_login",
    "logins_count",
    "last_ip",
    "created_at",
    "updated_at",
    "blocked",
    "email_verified",
)


class PlatformAction(StrEnum):
    approve = "approve"
    reject = "reject"
    revoke = "revoke"
    unrevoke = "unrevoke"


class GroupAction(StrEnum):
    approve = "approve"
    reject = "reject"
    revoke = "revoke"
    unreject = "unreject"


class DecisionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=MAX_REASON_LENGTH)


def _require_visible(session: Session, who: Administered, user_id: str) -> directory.UserRecord:
    record = directory.get_user_record(session, user_id, scope=who.scope)
    if record is None:
        raise NotFound(f"no user {user_id}")
    return record


@router.get("/users", summary="Users within the caller's scope, one page")
def list_users(
    who: AdminDep,
    session: SessionDep,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 50,
    platform: Annotated[str | None, Query(max_length=64)] = None,
    platform_approval_status: Status | None = None,
    group: Annotated[str | None, Query(max_length=255)] = None,
    group_approval_status: Status | None = None,
    email_verified: bool | None = None,
    search: Annotated[str | None, Query(max_length=320)] = None,
    sort: Annotated[str, Query(pattern=SORT_PATTERN)] = "created_at",
) -> Item:
    query = directory.UserQuery(
        platform=platform,
        platform_status=platform_approval_status,
        group=group,
        group_status=group_approval_status,
        search=search or None,
        email_verified=email_verified,
    )
    records, total = directory.list_page(
        session, query, scope=who.scope, limit=per_page, offset=(page - 1) * per_page, sort=sort
    )
    return {
        "items": [r.as_dict() for r in records],
        "page": page,
        "per_page": per_page,
        "total": total,
    }


@router.get("/users/counts", summary="Memberships per status within the caller's scope")
def user_counts(who: AdminDep, session: SessionDep) -> Item:
    return directory.status_counts(session, scope=who.scope)


@router.get("/filters", summary="The filter values the caller may use on /admin/users")
def filters(who: AdminDep, session: SessionDep) -> Item:
    return {
        "platforms": [
            {"id": p.id, "name": p.name} for p in access.administered_platforms(session, who)
        ],
        "groups": [
            {"id": g.id, "name": g.name, "short_name": g.short_name}
            for g in access.administered_groups(session, who)
        ],
        "statuses": list(MEMBERSHIP_STATUSES),
        "sort": [*directory.SORT_KEYS, *(f"-{k}" for k in directory.SORT_KEYS)],
    }


@router.get("/users/{user_id}", summary="One user and their in-scope memberships")
def get_user(user_id: UserId, who: AdminDep, session: SessionDep) -> Item:
    return _require_visible(session, who, user_id).as_dict()


@router.get("/users/{user_id}/details", summary="The user with Auth0 profile fields")
def get_user_details(
    user_id: UserId, who: AdminDep, session: SessionDep, source: UserSourceDep
) -> Item:
    data = _require_visible(session, who, user_id).as_dict()
    remote = _management(source).get_user(user_id)
    data["auth0"] = (
        None if remote is None else {f: getattr(remote, f, None) for f in AUTH0_DETAIL_FIELDS}
    )
    return data


@router.get("/users/{user_id}/history", summary="The user's membership events, oldest first")
def get_user_history(user_id: UserId, who: AdminDep, session: SessionDep) -> list[Item]:
    _require_visible(session, who, user_id)
    return [
        event.model_dump() for event in directory.list_history(session, user_id, scope=who.scope)
    ]


@router.post("/users/{user_id}/verification-email", summary="Resend the verification email")
def resend_verification(
    user_id: UserId, who: AdminDep, session: SessionDep, source: UserSourceDep
) -> Item:
    _require_visible(session, who, user_id)
    try:
        job = _management(source).send_verification_email(user_id)
    except Auth0Error as exc:
        if exc.status_code == 404:
            raise NotFound(f"{user_id} does not exist in Auth0") from None
        raise
    return {"message": "verification email sent", "job": _job_dict(job)}


def _management(source: Any) -> Any:
    """The Auth0 gateway, checked only once the user is known to be visible (a 404
    first, then 503 when the Management API is not configured)."""
    if source is None:
        raise ServiceUnavailable("the Auth0 Management API is not set up")
    return source


def _job_dict(job: Any) -> Any:
    if job is None or isinstance(job, dict | str):
        return job
    if hasattr(job, "model_dump"):
        return job.model_dump(mode="json")
    return str(job)


def _decide(
    session: Session,
    background: BackgroundTasks,
    who: Administered,
    *,
    actor: str,
    user_id: str,
    target: Target,
    action: str,
    body: DecisionBody | None,
) -> Item:
    covered = who.covers_platform if target.kind == "platform" else who.covers_group
    if not covered(target.id):
        raise Forbidden(f"you do not administer {target}")
    _require_visible(session, who, user_id)
    result = transition(
        session,
        user_id=user_id,
        target=target,
        action=action,  # type: ignore[arg-type]
        actor=actor,
        reason=body.reason if body else None,
    )
    after_decision(session, background, result)
    return decision_response(result)


@router.post(
    "/users/{user_id}/platforms/{platform_id}/{action}",
    summary="Approve, reject, revoke or unrevoke a platform membership",
)
def decide_platform(
    user_id: UserId,
    platform_id: Annotated[str, Path(min_length=1, max_length=64)],
    action: PlatformAction,
    who: AdminDep,
    caller: CallerDep,
    session: SessionDep,
    background: BackgroundTasks,
    body: DecisionBody | None = None,
) -> Item:
    target = Target("platform", platform_id)
    return _decide(
        session,
        background,
        who,
        actor=caller.sub,
        user_id=user_id,
        target=target,
        action=action.value,
        body=body,
    )


@router.post(
    "/users/{user_id}/groups/{group_id:path}/{action}",
    summary="Approve, reject, revoke or unreject a group membership",
)
def decide_group(
    user_id: UserId,
    group_id: Annotated[str, Path(min_length=1, max_length=255)],
    action: GroupAction,
    who: AdminDep,
    caller: CallerDep,
    session: SessionDep,
    background: BackgroundTasks,
    body: DecisionBody | None = None,
) -> Item:
    target = Target("group", group_id)
    return _decide(
        session,
        background,
        who,
        actor=caller.sub,
        user_id=user_id,
        target=target,
        action=action.value,
        body=body,
    )
