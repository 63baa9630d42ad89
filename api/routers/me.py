"""The caller's own routes (`/me/...`): any valid access token.

Reads come from the database (no Auth0 call per request); the caller's row is created
from Auth0 the first time they are seen, before the sync has brought it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks, Path
from pydantic import BaseModel, ConfigDict, Field

from aai_cli.services import access, profile
from aai_cli.services.memberships import MAX_REASON_LENGTH, Target
from api.deps import (
    ActiveMeDep,
    AdministeredDep,
    CallerDep,
    SessionDep,
    UserSourceDep,
    load_me,
)
from api.followup import after_decision, decision_response

router = APIRouter(prefix="/me", tags=["me"])

Item = dict[str, Any]


class RequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=MAX_REASON_LENGTH)


class GroupRequestBody(RequestBody):
    group_id: str = Field(min_length=1, max_length=255)


@router.get("/profile", summary="The caller's profile and memberships")
def get_profile(caller: CallerDep, session: SessionDep, source: UserSourceDep) -> Item:
    # load_me is called here rather than as a dependency: one thread-pool hop less
    me = load_me(session, caller.sub, source)
    return profile.profile(session, me)


@router.get("/platforms", summary="The caller's platform memberships")
def my_platforms(caller: CallerDep, session: SessionDep) -> list[Item]:
    return profile.list_my_platforms(session, caller.sub)


@router.get("/platforms/approved")
def my_approved_platforms(caller: CallerDep, session: SessionDep) -> list[Item]:
    return profile.list_my_platforms(session, caller.sub, status="approved")


@router.get("/platforms/pending")
def my_pending_platforms(caller: CallerDep, session: SessionDep) -> list[Item]:
    return profile.list_my_platforms(session, caller.sub, status="pending")


@router.get("/groups", summary="The caller's group memberships")
def my_groups(caller: CallerDep, session: SessionDep) -> list[Item]:
    return profile.list_my_groups(session, caller.sub)


@router.get("/groups/approved")
def my_approved_groups(caller: CallerDep, session: SessionDep) -> list[Item]:
    return profile.list_my_groups(session, caller.sub, status="approved")


@router.get("/groups/pending")
def my_pending_groups(caller: CallerDep, session: SessionDep) -> list[Item]:
    return profile.list_my_groups(session, caller.sub, status="pending")


@router.get("/all/pending", summary="The caller's pending platform and group requests")
def my_pending(caller: CallerDep, session: SessionDep) -> dict[str, list[Item]]:
    platforms, groups = profile.list_mine(session, caller.sub, status="pending")
    return {"platforms": platforms, "groups": groups}


@router.get("/is-general-admin", summary="Whether the caller administers anything")
def is_general_admin(who: AdministeredDep) -> bool:
    return who.is_admin


@router.get("/platforms/admin-roles", summary="The platforms the caller administers")
def my_admin_platforms(who: AdministeredDep, session: SessionDep) -> list[Item]:
    return [{"id": p.id, "name": p.name} for p in access.administered_platforms(session, who)]


@router.get("/groups/admin-roles", summary="The groups the caller administers")
def my_admin_groups(who: AdministeredDep, session: SessionDep) -> list[Item]:
    return [
        {"id": g.id, "name": g.name, "short_name": g.short_name}
        for g in access.administered_groups(session, who)
    ]


@router.post("/platforms/{platform_id}/request", summary="Ask for access to a platform")
def request_platform(
    me: ActiveMeDep,
    session: SessionDep,
    background: BackgroundTasks,
    platform_id: str = Path(max_length=64),
    body: RequestBody | None = None,
) -> Item:
    target = Target("platform", platform_id)
    result = profile.request_access(session, me, target, reason=body.reason if body else None)
    after_decision(session, background, result)
    return decision_response(result)


@router.post("/groups/request", summary="Ask for membership of a group")
def request_group(
    me: ActiveMeDep, session: SessionDep, background: BackgroundTasks, body: GroupRequestBody
) -> Item:
    target = Target("group", body.group_id)
    result = profile.request_access(session, me, target, reason=body.reason)
    after_decision(session, background, result)
    return decision_response(result)
