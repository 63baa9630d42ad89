"""The memberships step of the sync: reconcile platform and group access roles in Auth0
with memberships, following "Who is the truth for what" in docs/sync.md.

For each access role its members are walked with checkpoint paging. A (user, role) pair
with an outbox push still pending is skipped. A grant made in Auth0 becomes `approve`
(or `unrevoke`) and a removal `revoke`, each with its event, actor `system:sync`. Brand
new grants (no membership yet, the bulk of a first import) are written in batches with
exactly what `memberships.transition(..., "approve")` writes from no membership; every
other change goes through `transition()` itself. History is never deleted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlmodel import Session, col

from aai_cli.models import (
    SYNC_ACTOR,
    TARGET_TABLES,
    MembershipEvent,
    Role,
    Target,
    User,
    table_of,
    utcnow,
)
from aai_cli.services.access import memberships, role_outbox
from aai_cli.services.auth0.gateway import Auth0Gateway, MalformedRecord
from aai_cli.services.bulk import bulk_write
from aai_cli.services.sync.users import BATCH_SIZE, Progress, UserBatcher

GRANTED_REASON = "role granted in Auth0"
REMOVED_REASON = "role removed in Auth0"
MEMBER_WALKERS = 4


@dataclass
class MembershipCounts:
    """Per (user, access role) pair: a member in Auth0 without an approved membership is
    `granted` (approved here), an approved membership whose member Auth0 no longer lists
    is `revoked`; a pair with an outbox push still pending is `skipped`. `missing_roles`
    are access roles of the catalog that Auth0 does not have."""

    granted: int = 0
    revoked: int = 0
    unchanged: int = 0
    skipped: int = 0
    missing_roles: list[str] = field(default_factory=list)
    # False when an incremental run skipped the role-member walk (not due yet)
    walked: bool = True


def access_targets(session: Session) -> list[tuple[Target, str]]:
    """Every platform and group with the name of the Auth0 role that grants it."""
    targets = []
    for kind, tables in TARGET_TABLES.items():
        ids = col(tables.catalog.id)
        rows = session.execute(select(ids, tables.access_role_column()).order_by(ids))
        targets += [(Target(kind, target_id), role) for target_id, role in rows]
    return targets


def _role_id(session: Session, gateway: Auth0Gateway, name: str) -> str | None:
    role_id = session.execute(
        select(col(Role.id)).where(col(Role.name) == name, col(Role.deleted_at).is_(None))
    ).scalar()
    if role_id:
        return role_id
    role = gateway.role_by_name(name)
    return role.id if role else None


class MemberWalk:
    """The members of every access role, fetched by background threads (checkpoint
    paging, roles in parallel) so that the walk overlaps the users step."""

    def __init__(self, session: Session, gateway: Auth0Gateway, counts: MembershipCounts):
        self.targets = access_targets(session)
        role_ids: dict[str, str] = {}
        for _target, role_name in self.targets:
            role_id = _role_id(session, gateway, role_name)
            if role_id is None:
                counts.missing_roles.append(role_name)
            else:
                role_ids[role_name] = role_id
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=MEMBER_WALKERS)
        self._futures = {
            name: self._pool.submit(self._walk, gateway, role_id)
            for name, role_id in role_ids.items()
        }

    def _walk(self, gateway: Auth0Gateway, role_id: str) -> set[str]:
        members: set[str] = set()
        for member in gateway.iter_role_members(role_id):
            if self._stop.is_set():
                break
            members.add(member.user_id)
        return members

    def result(self) -> dict[str, set[str]]:
        return {name: future.result() for name, future in self._futures.items()}

    def close(self) -> None:
        self._stop.set()
        self._pool.shutdown(wait=True, cancel_futures=True)


def sync_memberships(
    session: Session,
    gateway: Auth0Gateway,
    batcher: UserBatcher,
    counts: MembershipCounts,
    *,
    commit: Callable[[], None],
    progress: Progress | None = None,
    walk: MemberWalk | None = None,
) -> None:
    own_walk = walk is None
    walk = walk or MemberWalk(session, gateway, counts)
    try:
        members_by_role = walk.result()
    finally:
        if own_walk:
            walk.close()
    pending = role_outbox.pending_role_keys(session)
    live = set(
        session.execute(select(col(User.id)).where(col(User.deleted_at).is_(None))).scalars()
    )
    for done, (target, role_name) in enumerate(walk.targets, start=1):
        if role_name not in members_by_role:
            continue
        members = members_by_role[role_name]
        _ensure_users(gateway, batcher, members, live)
        _reconcile(session, target, role_name, members, pending, counts, commit)
        if progress:
            progress("memberships", done, len(walk.targets))


def _ensure_users(
    gateway: Auth0Gateway, batcher: UserBatcher, members: set[str], live: set[str]
) -> None:
    """Members not (or no longer) live in the database are fetched once and written."""
    for user_id in sorted(members - live):
        try:
            user = gateway.get_user(user_id)
        except MalformedRecord:
            user = None
        if user is None:
            batcher.counts.skip(f"{user_id}: role member missing or malformed in Auth0")
            members.discard(user_id)
        else:
            batcher.add(user)
            live.add(user_id)
    batcher.flush()


def _current(session: Session, target: Target) -> dict[str, str]:
    table = target.tables.membership
    rows = select(col(table.user_id), col(table.status)).where(
        target.tables.membership_key() == target.id
    )
    return dict(session.execute(rows).all())


def _reconcile(
    session: Session,
    target: Target,
    role_name: str,
    members: set[str],
    pending: set[tuple[str, str]],
    counts: MembershipCounts,
    commit: Callable[[], None],
) -> None:
    current = _current(session, target)
    new: list[str] = []
    changes: list[tuple[str, memberships.Action]] = []
    for user_id in sorted(members | {u for u, s in current.items() if s == "approved"}):
        if (user_id, role_name) in pending:
            counts.skipped += 1
            continue
        status = current.get(user_id)
        if user_id not in members:
            changes.append((user_id, "revoke"))
        elif status == "approved":
            counts.unchanged += 1
        elif status is None:
            new.append(user_id)
        else:
            changes.append((user_id, "unrevoke" if status == "revoked" else "approve"))
    for start in range(0, len(new), BATCH_SIZE):
        _insert_grants(session, target, new[start : start + BATCH_SIZE])
        counts.granted += len(new[start : start + BATCH_SIZE])
        commit()
    for index, (user_id, action) in enumerate(changes, start=1):
        memberships.transition(
            session,
            user_id=user_id,
            target=target,
            action=action,
            actor=SYNC_ACTOR,
            reason=REMOVED_REASON if action == "revoke" else GRANTED_REASON,
            push_to_auth0=False,
        )
        if action == "revoke":
            counts.revoked += 1
        else:
            counts.granted += 1
        if index % 500 == 0:
            commit()
    commit()


def _insert_grants(session: Session, target: Target, user_ids: list[str]) -> None:
    """What `transition(action="approve")` writes from no membership, in one batch."""
    if not user_ids:
        return
    status = memberships.TRANSITIONS["approve"][None]
    now = utcnow()
    key = target.tables.keyed(target.id)
    decision = {"status": status, "reason": GRANTED_REASON, "decided_by": SYNC_ACTOR}
    bulk_write(
        session,
        table_of(target.tables.membership),
        [
            {"user_id": uid, **key, **decision, "decided_at": now}
            | {"created_at": now, "updated_at": now}
            for uid in user_ids
        ],
    )
    bulk_write(
        session,
        table_of(MembershipEvent),
        [
            target.event_row(
                uid, None, status, actor=SYNC_ACTOR, reason=GRANTED_REASON, created_at=now
            )
            for uid in user_ids
        ],
    )
