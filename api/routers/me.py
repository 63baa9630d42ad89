"""The caller's own routes (`/me/...`): any valid access token.

Reads come from the database (no Auth0 call per request); the caller's row is created
from Auth0 the first time they are seen, before the sync has brought it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Path
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlmodel import Session

from aai_cli.models import Group, Kind, Platform, Target, User
from aai_cli.services.access import institutions, profile, scopes
from aai_cli.services.access.catalog import GROUP_ID_PATTERN
from aai_cli.services.access.memberships import MAX_REASON_LENGTH
from api import deps
from api.followup import after_decision, after_decisions, decision_response
from api.routers import Item

router = APIRouter(prefix="/me", tags=["me"])


class RequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=MAX_REASON_LENGTH)


BUNDLE_REASON_MAX = 255
MAX_BUNDLES_PER_REQUEST = 20
GroupId = Annotated[str, Field(pattern=GROUP_ID_PATTERN, max_length=255)]
BundleReason = Annotated[str | None, Field(default=None, max_length=BUNDLE_REASON_MAX)]


class BundleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    group_id: GroupId
    request_reason: BundleReason = None


class GroupRequestBody(BaseModel):
    """The portal's `{"groups": [{group_id, request_reason}]}`, or one group as
    `{group_id, request_reason}` (`reason` is accepted for `request_reason`)."""

    model_config = ConfigDict(extra="forbid")

    groups: list[BundleRequest] | None = Field(
        default=None, min_length=1, max_length=MAX_BUNDLES_PER_REQUEST
    )
    group_id: GroupId | None = None
    request_reason: BundleReason = None
    reason: BundleReason = None

    @model_validator(mode="after")
    def _one_form(self) -> GroupRequestBody:
        if (self.groups is None) == (self.group_id is None):
            raise ValueError("send either groups (a list) or one group_id")
        if self.groups is not None and (self.request_reason or self.reason) is not None:
            raise ValueError("with groups, give each group its own request_reason")
        if self.request_reason is not None and self.reason is not None:
            raise ValueError("give request_reason or reason, not both")
        ids = [group_id for group_id, _ in self.requests()]
        if len(ids) != len(set(ids)):
            raise ValueError("each group may be requested once per call")
        return self

    def requests(self) -> list[tuple[str, str | None]]:
        if self.groups is not None:
            return [(g.group_id, g.request_reason) for g in self.groups]
        assert self.group_id is not None
        return [(self.group_id, self.request_reason or self.reason)]


@router.get("/profile", summary="The caller's profile and memberships")
def get_profile(
    caller: deps.CallerDep, session: deps.SessionDep, source: deps.UserSourceDep
) -> Item:
    # load_me is called here rather than as a dependency: one thread-pool hop less
    me = deps.load_me(session, caller.sub, source)
    return profile.profile(session, me, claims=caller.claims)


# The twin routes of platforms and groups: one handler each, made for a kind.
PLURALS: dict[Kind, str] = {"platform": "platforms", "group": "groups"}


def _my_memberships(kind: Kind, status: str | None) -> Callable[..., list[Item]]:
    def my_memberships(caller: deps.CallerDep, session: deps.SessionDep) -> list[Item]:
        return profile.list_my(session, caller.sub, kind, status=status)

    return my_memberships


for _kind, _plural in PLURALS.items():
    router.get(f"/{_plural}", name=f"my_{_plural}", summary=f"The caller's {_kind} memberships")(
        _my_memberships(_kind, None)
    )
    for _status in ("approved", "pending"):
        router.get(f"/{_plural}/{_status}", name=f"my_{_status}_{_plural}")(
            _my_memberships(_kind, _status)
        )


@router.get("/all/pending", summary="The caller's pending platform and group requests")
def my_pending(caller: deps.CallerDep, session: deps.SessionDep) -> dict[str, list[Item]]:
    platforms, groups = profile.list_mine(session, caller.sub, status="pending")
    return {"platforms": platforms, "groups": groups}


@router.get("/is-general-admin", summary="Whether the caller administers anything")
def is_general_admin(who: deps.AdministeredDep) -> bool:
    return who.is_admin


def _my_admin_targets(kind: Kind) -> Callable[..., list[Item]]:
    def my_admin_targets(who: deps.AdministeredDep, session: deps.SessionDep) -> list[Item]:
        return [_admin_target(row) for row in scopes.administered_targets(session, who, kind)]

    return my_admin_targets


def _admin_target(row: Platform | Group) -> Item:
    item = {"id": row.id, "name": row.name}
    if isinstance(row, Group):  # only groups have a short name
        item["short_name"] = row.short_name
    return item


for _kind, _plural in PLURALS.items():
    router.get(
        f"/{_plural}/admin-roles",
        name=f"my_admin_{_plural}",
        summary=f"The {_plural} the caller administers",
    )(_my_admin_targets(_kind))


@router.post("/platforms/{platform_id}/request", summary="Ask for access to a platform")
def request_platform(
    me: deps.ActiveMeDep,
    session: deps.SessionDep,
    background: BackgroundTasks,
    platform_id: str = Path(max_length=64),
    body: RequestBody | None = None,
) -> Item:
    target = Target("platform", platform_id)
    result = profile.request_access(session, me, target, reason=body.reason if body else None)
    after_decision(session, background, result)
    return decision_response(result)


@router.post("/groups/request", summary="Ask for one or more groups (bundles)")
def request_groups(
    me: deps.ActiveMeDep,
    session: deps.SessionDep,
    background: BackgroundTasks,
    body: GroupRequestBody,
) -> Item:
    """All or nothing: a group that cannot be asked for fails the call, nothing written."""
    requests = body.requests()
    institutional = _institution_verdict(session, me, [group_id for group_id, _ in requests])
    results = profile.request_groups(session, me, requests, institutional=institutional)
    after_decisions(session, background, results)
    items: list[dict[str, Any]] = [
        {
            "group_id": r.target.id,
            "status": r.to_status,
            "from_status": r.from_status,
            "message": f"Group membership for {r.target.id} requested successfully.",
        }
        for r in results
    ]
    return {"results": items, "message": " ".join(item["message"] for item in items)}


def _institution_verdict(session: Session, me: User, group_ids: list[str]) -> bool:
    """Whether the caller's email passes the institution check, asked only when a bundle
    needs it. It is an HTTP call: the request's transaction (so far only reads) ends first."""
    if not profile.needs_institutional_email(group_ids):
        return False
    deps.end_transaction(session)
    if not me.email:
        return False
    return institutions.is_australian_research_institution(me.email)
