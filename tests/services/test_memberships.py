"""The membership state machine: every legal and illegal transition, with its events."""

from __future__ import annotations

import pytest
from sqlmodel import select

from aai_cli.errors import Conflict, InvalidInput, NotFound
from aai_cli.models import MembershipEvent, RoleChange, Target, User, utcnow
from aai_cli.services.access import memberships
from tests.services.directory_helpers import approve_as_sync

SBP = Target("platform", "sbp")  # not auto-approved
GALAXY = Target("platform", "galaxy")  # auto-approved
TSI = Target("group", "biocommons/group/tsi")
NOOP = "no-op"  # a repeat: nothing written, `changed` is False
CONFLICT = "conflict"

# The state machine, written out: (status before, action) -> status after, NOOP or
# CONFLICT. None: no membership yet.
EXPECTED = {
    (None, "request"): "pending",
    (None, "approve"): "approved",  # an admin's direct grant (and the sync's import)
    (None, "reject"): CONFLICT,
    (None, "revoke"): CONFLICT,
    (None, "unrevoke"): CONFLICT,
    (None, "unreject"): CONFLICT,
    ("pending", "request"): CONFLICT,  # already pending
    ("pending", "approve"): "approved",
    ("pending", "reject"): "rejected",
    ("pending", "revoke"): CONFLICT,
    ("pending", "unrevoke"): CONFLICT,
    ("pending", "unreject"): NOOP,  # already where unreject leads
    ("approved", "request"): CONFLICT,  # already approved
    ("approved", "approve"): NOOP,
    ("approved", "reject"): CONFLICT,
    ("approved", "revoke"): "revoked",
    ("approved", "unrevoke"): NOOP,  # already where unrevoke leads
    ("approved", "unreject"): CONFLICT,
    ("rejected", "request"): "pending",  # asking again after a rejection
    ("rejected", "approve"): "approved",
    ("rejected", "reject"): NOOP,
    ("rejected", "revoke"): CONFLICT,
    ("rejected", "unrevoke"): CONFLICT,
    ("rejected", "unreject"): "pending",
    ("revoked", "request"): "pending",  # the service allows it; /me refuses it before
    ("revoked", "approve"): "approved",  # access given back, as the portal does it
    ("revoked", "reject"): CONFLICT,
    ("revoked", "revoke"): NOOP,
    ("revoked", "unrevoke"): "approved",
    ("revoked", "unreject"): CONFLICT,
}
# An auto-approve platform differs only on a first request; asking again after a
# rejection or a revocation still waits for an admin.
EXPECTED_AUTO_APPROVE = {**EXPECTED, (None, "request"): "approved"}
TABLES = {"platform": EXPECTED, "auto-approve platform": EXPECTED_AUTO_APPROVE, "group": EXPECTED}
TARGETS = {"platform": SBP, "auto-approve platform": GALAXY, "group": TSI}
# Legal paths from nothing to each status (a first request on GALAXY is approved at once).
PATHS = {
    None: [],
    "pending": ["request"],
    "approved": ["request", "approve"],
    "rejected": ["request", "reject"],
    "revoked": ["request", "approve", "revoke"],
}
AUTO_APPROVE_PATHS = {
    None: [],
    "approved": ["request"],
    "revoked": ["request", "revoke"],
    "pending": ["request", "revoke", "request"],
    "rejected": ["request", "revoke", "request", "reject"],
}


@pytest.fixture
def user(session):
    session.add(User(id="auth0|alice", email="alice@example.org", username="alice"))
    session.commit()
    return "auth0|alice"


def _bring_to(session, user_id, target, status):
    """Drive a membership to `status` through legal transitions."""
    paths = AUTO_APPROVE_PATHS if target == GALAXY else PATHS
    for action in paths[status]:
        memberships.transition(
            session, user_id=user_id, target=target, action=action, actor="test", reason="r"
        )
    current = memberships.get_membership(session, user_id=user_id, target=target)
    assert (current.status if current else None) == status


def _events(session, user_id):
    return session.exec(select(MembershipEvent).where(MembershipEvent.user_id == user_id)).all()


def test_the_table_covers_every_action_and_status():
    statuses = [None, "pending", "approved", "rejected", "revoked"]
    assert set(EXPECTED) == {(s, a) for s in statuses for a in memberships.ACTIONS}


@pytest.mark.parametrize("kind", list(TARGETS))
@pytest.mark.parametrize(("start", "action"), list(EXPECTED))
def test_every_transition(session, user, kind, start, action):
    target, expected = TARGETS[kind], TABLES[kind][(start, action)]
    _bring_to(session, user, target, start)
    before = len(_events(session, user))
    if expected == CONFLICT:
        with pytest.raises(Conflict):
            memberships.transition(
                session, user_id=user, target=target, action=action, actor="admin", reason="why"
            )
        assert len(_events(session, user)) == before
        return
    result = memberships.transition(
        session, user_id=user, target=target, action=action, actor="admin", reason="why"
    )
    events = _events(session, user)
    if expected == NOOP:
        assert result.changed is False
        assert (result.from_status, result.to_status) == (start, start)
        assert len(events) == before
        return
    assert result.changed is True
    assert (result.from_status, result.to_status) == (start, expected)
    assert result.membership.status == expected
    assert len(events) == before + 1
    last = max(events, key=lambda e: e.id)
    assert (last.from_status, last.to_status, last.actor, last.reason) == (
        start,
        expected,
        "admin",
        "why",
    )


def test_auto_approve_platform_grants_on_first_request_and_queues_role(session, user):
    result = memberships.transition(
        session, user_id=user, target=GALAXY, action="request", actor=user
    )
    assert result.to_status == "approved"
    changes = session.exec(select(RoleChange)).all()
    assert [(c.role_name, c.action) for c in changes] == [("biocommons/platform/galaxy", "assign")]


def test_rerequest_after_revocation_is_pending_even_when_auto_approved(session, user):
    _bring_to(session, user, GALAXY, "revoked")
    result = memberships.transition(
        session, user_id=user, target=GALAXY, action="request", actor=user
    )
    assert result.to_status == "pending"


def test_role_changes_follow_access(session, user):
    _bring_to(session, user, TSI, "revoked")
    changes = session.exec(select(RoleChange).order_by(RoleChange.id)).all()
    assert [(c.role_name, c.action) for c in changes] == [
        ("biocommons/group/tsi", "assign"),
        ("biocommons/group/tsi", "remove"),
    ]


def test_a_rejected_request_changes_no_role(session, user):
    _bring_to(session, user, TSI, "rejected")
    memberships.transition(session, user_id=user, target=TSI, action="unreject", actor="a")
    assert session.exec(select(RoleChange)).all() == []


def test_sync_transitions_do_not_push(session, user):
    approve_as_sync(session, user, SBP)
    assert session.exec(select(RoleChange)).all() == []


def test_a_rejection_needs_a_reason_a_revocation_only_from_operators(session, user):
    _bring_to(session, user, SBP, "pending")
    with pytest.raises(InvalidInput, match="reason is required to reject"):
        memberships.transition(session, user_id=user, target=SBP, action="reject", actor="a")
    with pytest.raises(InvalidInput, match="reason is required to reject"):
        memberships.transition(
            session, user_id=user, target=SBP, action="reject", actor="a", reason="   "
        )
    _bring_to(session, user, TSI, "approved")
    with pytest.raises(InvalidInput, match="reason is required to revoke"):
        memberships.transition(
            session, user_id=user, target=TSI, action="revoke", actor="a",
            reasons_required=memberships.OPERATOR_REASON_REQUIRED,
        )  # fmt: skip
    result = memberships.transition(session, user_id=user, target=TSI, action="revoke", actor="a")
    assert (result.to_status, result.membership.reason, result.event.reason) == (
        "revoked",
        None,
        None,
    )


def test_a_rejection_reason_is_at_most_255_characters(session, user):
    _bring_to(session, user, SBP, "pending")
    with pytest.raises(InvalidInput, match=r"too long \(256 > 255"):
        memberships.transition(
            session, user_id=user, target=SBP, action="reject", actor="a", reason="x" * 256
        )
    result = memberships.transition(
        session, user_id=user, target=SBP, action="reject", actor="a", reason=f" {'x' * 255} "
    )
    assert result.membership.reason == "x" * 255


def test_approving_a_revoked_membership_gives_access_back(session, user):
    _bring_to(session, user, TSI, "revoked")
    result = memberships.transition(session, user_id=user, target=TSI, action="approve", actor="b")
    assert (result.from_status, result.to_status, result.membership.reason) == (
        "revoked",
        "approved",
        None,
    )
    changes = session.exec(select(RoleChange).order_by(RoleChange.id)).all()
    assert [(c.role_name, c.action) for c in changes] == [
        ("biocommons/group/tsi", "assign"),
        ("biocommons/group/tsi", "remove"),
        ("biocommons/group/tsi", "assign"),
    ]


@pytest.mark.parametrize("action", ["request", "approve", "unrevoke"])
def test_no_access_is_granted_to_a_soft_deleted_user(session, user, action):
    _bring_to(session, user, SBP, "revoked" if action == "unrevoke" else "pending")
    session.get(User, user).deleted_at = utcnow()
    with pytest.raises(Conflict, match="deleted"):
        memberships.transition(session, user_id=user, target=SBP, action=action, actor="a")
    # a revocation still goes through
    if action == "request":
        result = memberships.transition(
            session, user_id=user, target=SBP, action="reject", actor="a", reason="gone"
        )
        assert result.to_status == "rejected"


def test_reason_too_long(session, user):
    with pytest.raises(InvalidInput, match="too long"):
        memberships.transition(
            session, user_id=user, target=SBP, action="request", actor="a", reason="x" * 1025
        )


def test_duplicate_live_request_conflicts(session, user):
    _bring_to(session, user, SBP, "pending")
    with pytest.raises(Conflict, match="already pending"):
        memberships.transition(session, user_id=user, target=SBP, action="request", actor=user)


def test_illegal_transition_lists_allowed_actions(session, user):
    _bring_to(session, user, SBP, "revoked")
    with pytest.raises(Conflict) as info:
        memberships.transition(session, user_id=user, target=SBP, action="unreject", actor="a")
    assert "allowed: request, approve, unrevoke" in str(info.value)


def test_unknown_target(session, user):
    with pytest.raises(NotFound, match="unknown platform"):
        memberships.transition(
            session, user_id=user, target=Target("platform", "nope"), action="request", actor="a"
        )
