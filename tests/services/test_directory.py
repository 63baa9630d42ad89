"""The user directory: filters, admin scope, stable paging, statement budget, lookups."""

from __future__ import annotations

import pytest

from aai_cli.errors import InvalidInput, NotFound, UsageError
from aai_cli.models import Target, User
from aai_cli.services import directory
from aai_cli.services.access import memberships
from aai_cli.services.directory.query import AdminScope, UserQuery
from tests.services.directory_helpers import (
    GALAXY_ADMIN,
    SBP,
    T0,
    TSI,
    TSI_ADMIN,
    add_user,
    count_statements,
    decide,
    ids,
)

SBP_BUNDLE = Target("group", "biocommons/group/sbp_workflow_execution")


FILTER_CASES = [
    (UserQuery(), ["alice", "bob", "carol", "dave"]),
    (UserQuery(platform="sbp"), ["alice", "bob"]),
    (UserQuery(platform="sbp", platform_status="pending"), ["alice"]),
    (UserQuery(platform_status="rejected"), ["bob"]),
    (UserQuery(group="biocommons/group/tsi", group_status="approved"), ["bob"]),
    (UserQuery(group_status="pending"), ["carol"]),
    (UserQuery(status="pending"), ["alice", "carol"]),
    (UserQuery(status="approved"), ["alice", "bob"]),
    (UserQuery(platform="sbp", group="biocommons/group/tsi"), ["bob"]),
    (UserQuery(search="AL"), ["alice"]),
    (UserQuery(search="_"), ["bob"]),  # a literal underscore, not a wildcard
    (UserQuery(search="%"), ["dave"]),  # a literal percent sign
    (UserQuery(email_verified=True), ["alice", "carol"]),
    (UserQuery(email_verified=False), ["bob", "dave"]),
    (UserQuery(blocked=True), ["carol"]),
    (UserQuery(deleted=True), ["erin"]),
    (UserQuery(deleted=True, platform="galaxy"), ["erin"]),
    (UserQuery(platform="galaxy"), ["alice"]),
]


def test_filters(session, people):
    for query, expected in FILTER_CASES:
        assert ids(directory.list_users(session, query)) == expected, query
        assert directory.count_users(session, query) == len(expected), query


def test_records_carry_memberships(session, people):
    (alice,) = directory.list_users(session, UserQuery(search="alice"))
    assert alice.email_verified is True
    assert [(m["platform_id"], m["status"]) for m in alice.platform_memberships] == [
        ("galaxy", "approved"),
        ("sbp", "pending"),
    ]
    assert alice.group_memberships == []
    assert alice.platform_memberships[1]["requested_at"].tzinfo is not None


SCOPE_CASES = [
        (GALAXY_ADMIN, UserQuery(), ["alice"]),
        (TSI_ADMIN, UserQuery(), ["bob", "carol"]),
        (TSI_ADMIN, UserQuery(status="pending"), ["carol"]),
        # bob's sbp rejection is outside a tsi admin's scope
        (TSI_ADMIN, UserQuery(status="rejected"), []),
        (TSI_ADMIN, UserQuery(platform="sbp"), []),
        (GALAXY_ADMIN, UserQuery(platform="galaxy"), ["alice"]),
        (AdminScope(platforms=frozenset()), UserQuery(), []),
        (AdminScope(platforms=frozenset({"sbp"}), groups=frozenset({"biocommons/group/tsi"})),
         UserQuery(), ["alice", "bob", "carol"]),
]  # fmt: skip


def test_scope_limits_users(session, people):
    for scope, query, expected in SCOPE_CASES:
        assert ids(directory.list_users(session, query, scope=scope)) == expected, (scope, query)
        assert directory.count_users(session, query, scope=scope) == len(expected)
        assert sorted(ids(directory.iter_users(session, query, scope=scope))) == expected


def test_a_visible_user_carries_all_memberships(session, people):
    (bob,) = directory.list_users(session, UserQuery(search="bob"), scope=TSI_ADMIN)
    assert [(m["platform_id"], m["status"]) for m in bob.platform_memberships] == [
        ("sbp", "rejected")
    ]
    assert [m["group_id"] for m in bob.group_memberships] == ["biocommons/group/tsi"]
    record = directory.get_user_record(session, people["bob"])
    assert record is not None and record.within(TSI_ADMIN) and not record.within(GALAXY_ADMIN)
    dave = directory.get_user_record(session, people["dave"])
    assert dave is not None and not dave.within(TSI_ADMIN) and dave.within(AdminScope())
    assert directory.get_user_record(session, "auth0|nobody") is None
    history = directory.list_history(session, people["bob"], scope=TSI_ADMIN)
    assert [(e.group_id, e.to_status) for e in history] == [("biocommons/group/tsi", "approved")]
    assert len(directory.list_history(session, people["bob"])) == 3


def test_memberships_name_their_target_and_who_decided(session, people):
    session.add(User(id="auth0|admin", email="admin@example.org", created_at=T0))
    memberships.transition(
        session, user_id=people["carol"], target=TSI, action="reject",
        actor="auth0|admin", reason="not in TSI",
    )  # fmt: skip
    memberships.transition(
        session, user_id=people["alice"], target=Target("platform", "bpa_data_portal"),
        action="request", actor=people["alice"],
    )  # fmt: skip
    session.commit()
    carol = directory.get_user_record(session, people["carol"])
    assert carol is not None
    [tsi] = carol.group_memberships
    assert {k: tsi[k] for k in ("name", "short_name", "status", "reason", "updated_by")} == {
        "name": "Threatened Species Initiative",
        "short_name": "TSI",
        "status": "rejected",
        "reason": "not in TSI",
        "updated_by": "admin@example.org",
    }
    assert tsi["id"].isdigit()
    alice = directory.get_user_record(session, people["alice"])
    assert alice is not None
    assert [(m["platform_id"], m["name"], m["updated_by"]) for m in alice.platform_memberships] == [
        # auto-approved on her own request; requested by "t" (an id without a row); pending
        ("bpa_data_portal", "Bioplatforms Australia Data Portal", "(automatic)"),
        ("galaxy", "Galaxy Australia", "t"),
        ("sbp", "Structural Biology Platform", "(automatic)"),
    ]


def test_updated_by_names_people_and_hides_the_system():
    assert directory.updated_by("auth0|u", "auth0|a", "a@example.org") == "a@example.org"
    assert directory.updated_by("auth0|u", "cli:ops", None) == "cli:ops"
    assert directory.updated_by("auth0|u", "system:sync", None) == "(automatic)"
    assert directory.updated_by("auth0|u", "auth0|u", "u@example.org") == "(automatic)"
    assert directory.updated_by("auth0|u", None, None) == "(automatic)"


def test_paging_is_stable_and_sortable(session):
    # equal created_at values: the id breaks the tie
    for n, uid in enumerate(["d", "b", "a", "c", "e"]):
        add_user(session, uid, n // 2)
    session.commit()
    full = ids(directory.list_users(session, UserQuery(), limit=100))
    assert full == ["b", "d", "a", "c", "e"]
    pages = [ids(directory.list_users(session, UserQuery(), limit=2, offset=o)) for o in (0, 2, 4)]
    assert [uid for page in pages for uid in page] == full
    assert ids(directory.list_users(session, UserQuery(), sort="-created_at")) == full[::-1]
    assert ids(directory.list_users(session, UserQuery(), sort="email")) == sorted(full)
    with pytest.raises(InvalidInput, match="unknown sort key"):
        directory.list_users(session, UserQuery(), sort="password")


def test_iter_users_pages_by_id(session, people):
    for n in range(7):
        add_user(session, f"z{n}", 10 + n)
    session.commit()
    streamed = list(directory.iter_users(session, UserQuery(), batch_size=3))
    assert [r.id for r in streamed] == sorted(r.id for r in streamed)
    assert len(streamed) == 11
    alice = next(r for r in streamed if r.id == people["alice"])
    assert len(alice.platform_memberships) == 2
    pending = list(directory.iter_users(session, UserQuery(status="pending"), batch_size=1))
    assert [(r.id, len(r.platform_memberships), len(r.group_memberships)) for r in pending] == [
        (people["alice"], 2, 0),
        (people["carol"], 0, 1),
    ]


STATEMENT_CASES = [
    UserQuery(),
    UserQuery(platform="sbp", platform_status="pending", search="a"),
    UserQuery(status="approved", email_verified=True),
]


def test_a_page_takes_two_statements_and_one_to_read_slots(session, people):
    """The users, their memberships, and first the catalog slots when the query or the
    scope names platforms, groups or statuses."""
    for scope in (None, TSI_ADMIN):
        for query in STATEMENT_CASES:
            slots = int(scope is not None or query != UserQuery())
            with count_statements(session) as statements:
                records = directory.list_users(session, query, scope=scope, limit=50)
            assert len(statements) == slots + (2 if records else 1), statements
            with count_statements(session) as statements:
                directory.count_users(session, query, scope=scope)
            assert len(statements) == slots + 1


def test_bad_status_is_invalid(session):
    with pytest.raises(InvalidInput, match="unknown status"):
        directory.count_users(session, UserQuery(status="maybe"))


def test_resolve_user_by_id_email_username(session, people):
    assert directory.resolve_user(session, "auth0|alice").id == people["alice"]
    assert directory.resolve_user(session, "alice@example.org").id == people["alice"]
    assert directory.resolve_user(session, "ALICE@Example.org").id == people["alice"]
    assert directory.resolve_user(session, "carol").id == people["carol"]
    assert directory.resolve_user(session, "erin").id == people["erin"]  # only a deleted row


def test_resolve_user_live_row_wins_and_ambiguity(session, people):
    add_user(session, "alice-old", 9, email="alice@example.org", username=None, deleted_at=T0)
    assert directory.resolve_user(session, "alice@example.org").id == people["alice"]
    add_user(session, "alice-google", 9, email="alice@example.org", username=None)
    with pytest.raises(NotFound) as info:
        directory.resolve_user(session, "alice@example.org")
    assert "auth0|alice-google" in str(info.value) and "Auth0 id" in str(info.value)


def test_resolve_user_not_found_suggests(session, people):
    with pytest.raises(NotFound) as info:
        directory.resolve_user(session, "alcie@example.org")
    assert "did you mean" in str(info.value) and "alice@example.org" in str(info.value)
    with pytest.raises(InvalidInput):
        directory.resolve_user(session, "  ")


def test_resolve_targets(session):
    assert directory.resolve_target(session, platform="sbp", group=None) == SBP
    for name in ("biocommons/group/tsi", "tsi", "TSI"):
        assert directory.resolve_target(session, platform=None, group=name) == TSI
    with pytest.raises(NotFound, match="did you mean: galaxy"):
        directory.resolve_target(session, platform="galaxie", group=None)
    with pytest.raises(NotFound, match="unknown group: tsj"):
        directory.resolve_target(session, platform=None, group="tsj")
    with pytest.raises(UsageError):
        directory.resolve_target(session, platform="sbp", group="tsi")


def test_status_counts(session, people):
    counts = directory.status_counts(session)
    assert counts["platforms"]["sbp"] == {"pending": 1, "approved": 0, "rejected": 1, "revoked": 0}
    assert counts["platforms"]["galaxy"]["approved"] == 1  # erin is deleted: not counted
    assert counts["groups"]["biocommons/group/tsi"] == {
        "pending": 1, "approved": 1, "rejected": 0, "revoked": 0,
    }  # fmt: skip
    scoped = directory.status_counts(session, scope=TSI_ADMIN)
    assert scoped == {"platforms": {}, "groups": {"biocommons/group/tsi": counts["groups"][
        "biocommons/group/tsi"]}}  # fmt: skip


def test_pending_queue_oldest_first(session, people):
    dave = people["dave"]
    decide(session, dave, SBP_BUNDLE, "request")
    session.commit()
    queue = directory.list_pending(session)
    assert [(p.user_id, p.target_id) for p in queue] == [
        (people["alice"], "sbp"),
        (people["carol"], "biocommons/group/tsi"),
        (dave, "biocommons/group/sbp_workflow_execution"),
    ]
    assert queue[0].request_reason == "r" and queue[0].age_seconds() >= 0
    assert [p.user_id for p in directory.list_pending(session, platform="sbp")] == [people["alice"]]
    assert [p.target_id for p in directory.list_pending(session, scope=TSI_ADMIN)] == [
        "biocommons/group/tsi"
    ]
