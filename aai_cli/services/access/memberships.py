"""Platform and group memberships as guarded transitions: the one place both the CLI
and the API decide access.

Every change writes the new status, an event (actor, reason, from, to) and, when access
changes, an Auth0 outbox row, all in the caller's transaction. A repeat is a no-op that
writes nothing; anything else outside the state machine raises `Conflict`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Literal, cast

from sqlmodel import Session, col, select

from aai_cli.errors import Conflict, InvalidInput, NotFound
from aai_cli.models import (
    Group,
    MembershipEvent,
    Platform,
    RoleChange,
    Target,
    User,
    utcnow,
)
from aai_cli.services.access import notifications, role_outbox
from aai_cli.services.access.results import Membership, TransitionResult

Action = Literal["request", "approve", "reject", "revoke", "unrevoke", "unreject"]
ACTIONS: tuple[Action, ...] = ("request", "approve", "reject", "revoke", "unrevoke", "unreject")
MAX_REASON_LENGTH = 1024
MAX_REJECT_REASON_LENGTH = 255  # what the portal's rejection dialog allows

# action -> {from status (None: no membership yet) -> to status}
TRANSITIONS: dict[str, dict[str | None, str]] = {
    "request": {None: "pending", "rejected": "pending", "revoked": "pending"},
    # approve from nothing is an admin's direct grant (and how the sync imports a role
    # granted in Auth0); from rejected it reverses a rejection; from revoked it gives
    # the access back (the portal has no "unrevoke" button).
    "approve": {
        None: "approved",
        "pending": "approved",
        "rejected": "approved",
        "revoked": "approved",
    },
    "reject": {"pending": "rejected"},
    "revoke": {"approved": "revoked"},
    "unrevoke": {"revoked": "approved"},
    "unreject": {"rejected": "pending"},
}
TARGET_STATUS = {
    "request": "pending",
    "approve": "approved",
    "reject": "rejected",
    "revoke": "revoked",
    "unrevoke": "approved",
    "unreject": "pending",
}
# The API follows the portal: only a rejection needs a reason. Operators at a terminal
# (`aai users` and its imports) also give one to revoke.
REASON_REQUIRED = frozenset({"reject"})
OPERATOR_REASON_REQUIRED = frozenset({"reject", "revoke"})
# Decisions that (re)grant access: refused for a soft-deleted user.
GRANTING = frozenset({"request", "approve", "unrevoke"})


def allowed_actions(status: str | None) -> list[str]:
    """The actions that change a membership in `status`."""
    return [action for action, moves in TRANSITIONS.items() if status in moves]


def access_role_name(session: Session, target: Target) -> str:
    return cast(str, getattr(require_target(session, target), target.tables.access_role))


def require_target(session: Session, target: Target) -> Platform | Group:
    """The platform or group `target` names."""
    row = session.get(target.tables.catalog, target.id)
    if row is None:
        raise NotFound(f"unknown {target.kind}: {target.id}")
    return cast(Platform | Group, row)


def require_platform(session: Session, platform_id: str) -> Platform:
    return cast(Platform, require_target(session, Target("platform", platform_id)))


def get_membership(session: Session, *, user_id: str, target: Target) -> Membership | None:
    table = target.tables.membership
    found = session.exec(
        select(table).where(table.user_id == user_id, target.tables.membership_key() == target.id)
    ).first()
    return cast(Membership | None, found)


def transition(
    session: Session,
    *,
    user_id: str,
    target: Target,
    action: Action,
    actor: str,
    reason: str | None = None,
    push_to_auth0: bool = True,
    reasons_required: frozenset[str] = REASON_REQUIRED,
) -> TransitionResult:
    """Apply `action` to the user's membership of `target`.

    `push_to_auth0=False` records a change that already happened in Auth0 (the sync).
    `reasons_required`: the actions that need a reason (OPERATOR_REASON_REQUIRED for
    the CLI).
    """
    if action not in TRANSITIONS:
        raise InvalidInput(f"unknown action: {action} (one of {', '.join(ACTIONS)})")
    reason = _clean_reason(reason, action)
    if action in reasons_required and not reason:
        raise InvalidInput(f"a reason is required to {action}")
    catalog_row = require_target(session, target)
    role_name = cast(str, getattr(catalog_row, target.tables.access_role))
    if push_to_auth0 and action in GRANTING:
        _require_live_user(session, user_id)
    # Only platforms approve a first request automatically (groups have no such setting).
    auto_approve = isinstance(catalog_row, Platform) and catalog_row.auto_approve

    membership = get_membership(session, user_id=user_id, target=target)
    current = membership.status if membership else None
    if current == TARGET_STATUS[action] and action != "request":
        # current is a status, so the membership exists
        existing = cast(Membership, membership)
        return TransitionResult(target, user_id, action, existing, current, current, False)
    moves = TRANSITIONS[action]
    if current not in moves:
        raise _illegal(action, target, current)
    new_status = moves[current]
    if action == "request" and current is None and auto_approve:
        new_status = "approved"

    now = utcnow()
    if membership is None:
        membership = target.tables.new_membership(
            target.id, user_id=user_id, status=new_status, created_at=now, updated_at=now
        )
    membership.status = new_status
    membership.updated_at = now
    if action == "request":
        membership.request_reason = reason
        membership.requested_at = now
        membership.reason = None
        membership.decided_by = actor if new_status == "approved" else None
        membership.decided_at = now if new_status == "approved" else None
    else:
        membership.reason = reason
        membership.decided_by = actor
        membership.decided_at = now
    session.add(membership)

    event = MembershipEvent(
        **target.event_row(user_id, current, new_status, actor=actor, reason=reason, created_at=now)
    )
    session.add(event)
    if push_to_auth0:
        _queue_role_change(session, user_id, role_name, current, new_status)
    session.flush()
    result = TransitionResult(target, user_id, action, membership, current, new_status, True, event)
    queued = notifications.notify_transition(session, result)  # in this same transaction
    return replace(result, emails_queued=queued)


def _queue_role_change(
    session: Session, user_id: str, role_name: str, current: str | None, new: str
) -> None:
    """The Auth0 role follows access: granted when it starts, removed when it ends (a
    rejected request never had it)."""
    if new == "approved" and current != "approved":
        role_outbox.enqueue_role_change(
            session, user_id=user_id, role_name=role_name, action="assign"
        )
    elif current == "approved" and new != "approved":
        role_outbox.enqueue_role_change(
            session, user_id=user_id, role_name=role_name, action="remove"
        )


def _clean_reason(reason: str | None, action: str) -> str | None:
    if reason is None:
        return None
    reason = reason.strip()
    limit = MAX_REJECT_REASON_LENGTH if action == "reject" else MAX_REASON_LENGTH
    if len(reason) > limit:
        raise InvalidInput(f"the reason is too long ({len(reason)} > {limit} characters)")
    return reason or None


def _require_live_user(session: Session, user_id: str) -> None:
    user = session.get(User, user_id)
    if user is not None and user.deleted_at is not None:
        raise Conflict(f"user {user_id} is deleted: access cannot be granted")


def _illegal(action: str, target: Target, current: str | None) -> Conflict:
    state = f"is {current}" if current else "does not exist"
    if action == "request" and current in ("pending", "approved"):
        return Conflict(f"the {target} membership is already {current}")
    allowed = allowed_actions(current)
    return Conflict(
        f"cannot {action}: the {target} membership {state}",
        hint=f"allowed: {', '.join(allowed)}" if allowed else None,
    )


def pending_change_ids(session: Session, results: Iterable[TransitionResult]) -> list[int]:
    """Ids of the pending Auth0 outbox rows of the memberships these results changed,
    older rows of the same (user, role) included so that a push keeps their order."""
    keys = {(r.user_id, access_role_name(session, r.target)) for r in results if r.changed}
    if not keys:
        return []
    users = sorted({user_id for user_id, _ in keys})
    rows = session.exec(
        select(RoleChange.id, RoleChange.user_id, RoleChange.role_name)
        .where(RoleChange.status == "pending", col(RoleChange.user_id).in_(users))
        .order_by(col(RoleChange.id))
    )
    # stored rows have ids (the model types the primary key optional)
    return [cast(int, id_) for id_, user_id, role in rows if (user_id, role) in keys]
