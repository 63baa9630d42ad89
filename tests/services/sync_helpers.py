"""Helpers shared by the sync tests: build a tenant in the local Auth0, read the mirror."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from aai_cli import db
from aai_cli.localauth0.server import BIOCOMMONS_ROLES
from aai_cli.models import GroupMembership, MembershipEvent, PlatformMembership, SyncRun, User
from aai_cli.services import auth0
from aai_cli.services.auth0.transport import RetryPolicy

GALAXY = "biocommons/platform/galaxy"
TSI = "biocommons/group/tsi"


def build_tenant(fake, n: int, members: dict[str, slice] | None = None) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """`n` generated users and the five access roles; `members` maps a role name to the
    slice of users holding it (default: galaxy gets the first fifth, tsi the next tenth)."""
    users = fake.generate_users(n, social_fraction=0.1)
    ids = [u["user_id"] for u in users]
    roles = {name: fake.add_role(name)["id"] for name in BIOCOMMONS_ROLES}
    members = members or {GALAXY: slice(0, n // 5), TSI: slice(n // 5, n // 5 + n // 10)}
    for name, part in members.items():
        fake.generate_role_members(roles[name], ids[part])
    return {"ids": ids, "roles": roles}


def fast_gateway(*, max_attempts: int = 8) -> auth0.Auth0Gateway:
    """This process's gateway, retrying quickly (`max_attempts` tries a call)."""
    gateway = auth0.get_gateway()
    gateway.policy = RetryPolicy(max_attempts=max_attempts, base_delay_s=0.01, max_delay_s=0.1)
    return gateway


def db_users(url: str) -> dict[str, User]:
    with db.session_scope(url) as session:
        return {u.id: u for u in session.execute(select(User)).scalars()}


def live_ids(url: str) -> set[str]:
    return {uid for uid, u in db_users(url).items() if u.deleted_at is None}


def statuses(url: str) -> dict[tuple[str, str], str]:
    with db.session_scope(url) as session:
        rows = {
            (m.user_id, m.platform_id): m.status
            for m in session.execute(select(PlatformMembership)).scalars()
        }
        rows |= {
            (m.user_id, m.group_id): m.status
            for m in session.execute(select(GroupMembership)).scalars()
        }
        return rows


def events(url: str) -> list[MembershipEvent]:
    with db.session_scope(url) as session:
        return list(session.execute(select(MembershipEvent).order_by(MembershipEvent.id)).scalars())


def runs(url: str) -> list[SyncRun]:
    with db.session_scope(url) as session:
        return list(session.execute(select(SyncRun).order_by(SyncRun.id)).scalars())


def expected_statuses(fake, roles: dict[str, str]) -> dict[tuple[str, str], str]:  # type: ignore[no-untyped-def]
    """What the memberships must be for the tenant's role members: all approved."""
    target = {GALAXY: "galaxy", TSI: TSI}
    expected: dict[tuple[str, str], str] = {}
    for name, key in target.items():
        for user_id in fake.role_members(roles[name]):
            expected[(user_id, key)] = "approved"
    return expected


def walk_members_every_run(settings_env) -> None:  # type: ignore[no-untyped-def]
    """Incremental runs walk role members at most every SYNC_MEMBERSHIPS_EVERY_MINUTES;
    tests that check what a walk mirrors want one on every run."""
    settings_env(SYNC_MEMBERSHIPS_EVERY_MINUTES="0")
