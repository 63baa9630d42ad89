"""The columns the database derives for the directory (models/derived/): membership
masks, catalog slots and search text follow every write, the generated triggers are the
ones named and dropped, and filters stay correct for targets without a slot. Plus
`list_page`, which counts only when the page cannot tell."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, insert, select, update

from aai_cli.errors import NotFound
from aai_cli.models import Platform, PlatformMembership, Target, User, derived
from aai_cli.models.derived import masks
from aai_cli.services import directory
from aai_cli.services.directory.query import AdminScope, UserQuery
from tests.services.directory_helpers import (
    GALAXY,
    SBP,
    T0,
    TSI,
    add_user,
    count_statements,
    decide,
    ids,
)

P = PlatformMembership.__table__


def masks_of(session, user_id: str) -> tuple[int, int]:
    row = session.execute(
        select(User.platform_mask, User.group_mask).where(User.id == user_id)
    ).one()
    return row[0], row[1]


def slot(session, platform_id: str) -> int | None:
    return session.execute(select(Platform.facet_slot).where(Platform.id == platform_id)).scalar()


def bit(session, platform_id: str, status: str) -> int:
    return 1 << (4 * slot(session, platform_id) + derived.STATUS_BIT[status])


def test_the_seeded_catalog_holds_distinct_slots(session) -> None:
    slots = session.execute(select(Platform.facet_slot)).scalars().all()
    assert None not in slots and len(set(slots)) == len(slots)


def test_masks_follow_decisions_and_raw_writes(session) -> None:
    uid = add_user(session, "mask", 1)
    assert masks_of(session, uid) == (0, 0)
    decide(session, uid, SBP, "request")
    assert masks_of(session, uid) == (bit(session, "sbp", "pending"), 0)
    decide(session, uid, SBP, "reject")
    decide(session, uid, GALAXY, "approve")
    expected = bit(session, "sbp", "rejected") | bit(session, "galaxy", "approved")
    assert masks_of(session, uid)[0] == expected
    decide(session, uid, TSI, "request")
    assert masks_of(session, uid)[1] != 0

    # Writes that bypass the services are followed too (the sync's bulk insert does so).
    session.execute(delete(P).where(P.c.user_id == uid, P.c.platform_id == "sbp"))
    assert masks_of(session, uid)[0] == bit(session, "galaxy", "approved")
    session.execute(update(P).where(P.c.user_id == uid).values(status="revoked"))
    assert masks_of(session, uid)[0] == bit(session, "galaxy", "revoked")
    session.execute(insert(P), [{"user_id": uid, "platform_id": "sbp", "status": "approved"}])
    assert masks_of(session, uid)[0] == bit(session, "galaxy", "revoked") | bit(
        session, "sbp", "approved"
    )


def test_mask_bits_and_their_decoding() -> None:
    assert masks.bits("approved", [0, 2]) == 0b0010_0000_0010
    assert masks.bits(None, [1]) == 0b1111_0000
    assert masks.every_slot("pending") == int("0001" * 15, 2)
    assert [masks.status_at(0b0100_0000_0010, slot) for slot in (0, 1, 2)] == [
        "approved", None, "rejected",
    ]  # fmt: skip


MEMBERSHIP_TRIGGERS = [
    f"trg_{table}_masks_{op}"
    for table in ("group_memberships", "platform_memberships")
    for op in ("delete", "insert", "update")
]
TRIGGERS = {
    "sqlite": sorted(
        [
            *MEMBERSHIP_TRIGGERS,
            "trg_groups_facet_slot",
            "trg_platforms_facet_slot",
            "trg_users_search_text_insert",
            "trg_users_search_text_update",
        ]
    ),
    "postgresql": sorted(
        [
            *MEMBERSHIP_TRIGGERS,
            "trg_groups_facet_slot",
            "trg_platforms_facet_slot",
            "trg_users_search_text",
        ]
    ),
}


def test_the_generated_triggers_are_named_dropped_and_created_again(session) -> None:
    connection = session.connection()
    dialect = connection.dialect.name
    assert sorted(derived.trigger_names(dialect)) == TRIGGERS[dialect]
    assert derived.missing_triggers(connection) == []
    for statement in derived.drop_statements(dialect):
        connection.exec_driver_sql(statement)
    assert derived.missing_triggers(connection) == TRIGGERS[dialect]
    for statement in derived.statements(dialect):
        connection.exec_driver_sql(statement)
    assert derived.missing_triggers(connection) == []
    # and they work again
    uid = add_user(session, "again", 1)
    decide(session, uid, SBP, "request")
    assert masks_of(session, uid) == (bit(session, "sbp", "pending"), 0)


def test_search_text_follows_email_and_username(session) -> None:
    uid = add_user(session, "Search", 1, email="Mixed.Case@Example.ORG", username="first")
    session.commit()
    for term in ("mixed.case@example.org", "EXAMPLE.org", "FIRST"):
        assert ids(directory.list_users(session, UserQuery(search=term))) == ["Search"], term
    session.execute(update(User).where(User.id == uid).values(username="second"))
    assert not directory.list_users(session, UserQuery(search="first"))
    assert ids(directory.list_users(session, UserQuery(search="SECOND"))) == ["Search"]
    # The two fields are not one string: a term cannot span their boundary.
    assert not directory.list_users(session, UserQuery(search="orgsecond"))
    assert not directory.list_users(session, UserQuery(search="org second"))


def add_platforms(session, count: int) -> list[str]:
    names = [f"extra{n:02d}" for n in range(count)]
    for name in names:
        session.add(Platform(id=name, name=name, access_role_name=f"role/{name}"))
        session.flush()
    return names


def test_slots_run_out_and_filters_fall_back(session) -> None:
    taken = len(session.execute(select(Platform.id)).all())
    extra = add_platforms(session, derived.SLOTS - taken + 2)
    slots = [slot(session, name) for name in extra]
    assert sorted(s for s in slots if s is not None) == list(range(taken, derived.SLOTS))
    assert slots[-2:] == [None, None]
    slotless, slotted = extra[-1], extra[0]

    alice = add_user(session, "alice", 1)
    bob = add_user(session, "bob", 2)
    carol = add_user(session, "carol", 3)
    decide(session, alice, Target("platform", slotless), "request")
    decide(session, bob, Target("platform", slotless), "approve")
    decide(session, carol, Target("platform", slotted), "request")
    session.commit()
    assert masks_of(session, alice) == (0, 0)  # nothing to set: the probe answers

    cases = [
        (UserQuery(platform=slotless), ["alice", "bob"]),
        (UserQuery(platform=slotless, platform_status="pending"), ["alice"]),
        (UserQuery(platform_status="pending"), ["alice", "carol"]),
        (UserQuery(status="approved"), ["bob"]),
    ]
    for query, expected in cases:
        assert ids(directory.list_users(session, query)) == expected, query
        assert directory.count_users(session, query) == len(expected), query
    with pytest.raises(NotFound, match="Platform 'no-such-platform' not found"):
        directory.list_users(session, UserQuery(platform="no-such-platform"))
    scope = AdminScope(platforms=frozenset({slotless}))
    assert ids(directory.list_users(session, UserQuery(), scope=scope)) == ["alice", "bob"]
    scope = AdminScope(platforms=frozenset({slotless}))
    query = UserQuery(platform_status="approved")
    assert ids(directory.list_users(session, query, scope=scope)) == ["bob"]
    # the badges count in SQL when a target has no slot
    assert directory.badge_counts(session, UserQuery(), scope=scope) == {
        "all": 2, "pending": 1, "revoked": 0, "unverified": 2,
    }  # fmt: skip
    assert directory.badge_counts(session, UserQuery(exclude=alice), scope=scope) == {
        "all": 1, "pending": 0, "revoked": 0, "unverified": 1,
    }  # fmt: skip
    assert directory.badge_counts(session, UserQuery(exclude=bob)) == {
        "all": 2, "pending": 2, "revoked": 0, "unverified": 2,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("limit", "offset", "page", "count_runs"),
    [
        (50, 0, 5, False),  # the whole result on one page: its length is the total
        (2, 4, 1, False),  # the last, partial page
        (2, 0, 2, True),  # a full page: more may follow
        (2, 10, 0, True),  # past the end: only a count can tell
    ],
)
def test_list_page_counts_only_when_the_page_cannot_tell(
    session, limit: int, offset: int, page: int, count_runs: bool
) -> None:
    for n, name in enumerate(("a", "b", "c", "d", "e")):
        add_user(session, name, n)
    session.commit()
    with count_statements(session) as seen:
        records, total = directory.list_page(session, UserQuery(), limit=limit, offset=offset)
    assert len(records) == page and total == 5
    assert any("count(" in s.lower() for s in seen) is count_runs


def test_status_counts_decode_masks_and_count_slotless_targets(session) -> None:
    taken = len(session.execute(select(Platform.id)).all())
    slotless = add_platforms(session, derived.SLOTS - taken + 1)[-1]
    people = [add_user(session, name, n) for n, name in enumerate(("a", "b", "c", "d"))]
    decide(session, people[0], SBP, "request")
    decide(session, people[1], SBP, "request", "reject")
    decide(session, people[2], SBP, "approve")
    decide(session, people[0], Target("platform", slotless), "request")
    decide(session, people[1], Target("platform", slotless), "approve")
    decide(session, people[3], TSI, "request")
    decide(session, people[3], Target("platform", slotless), "approve")
    session.execute(update(User).where(User.id == people[3]).values(deleted_at=T0))
    session.commit()

    counts = directory.status_counts(session)
    assert counts["platforms"]["sbp"] == {
        "pending": 1, "approved": 1, "rejected": 1, "revoked": 0
    }  # fmt: skip
    assert counts["platforms"][slotless] == {
        "pending": 1, "approved": 1, "rejected": 0, "revoked": 0
    }  # fmt: skip
    assert counts["groups"]["biocommons/group/tsi"]["pending"] == 0  # its user is deleted
    assert counts["platforms"]["galaxy"] == dict.fromkeys(counts["platforms"]["galaxy"], 0)
    scoped = directory.status_counts(session, scope=AdminScope(platforms=frozenset({slotless})))
    assert list(scoped["platforms"]) == [slotless] and scoped["groups"] == {}


def test_the_sync_upsert_keeps_search_text_and_masks(session) -> None:
    """The sync writes users with raw INSERT ... ON CONFLICT DO UPDATE: the insert and
    the update path both set search_text, and neither touches the masks."""
    from datetime import UTC, datetime

    from aai_cli.services.sync.users import upsert_rows

    now = datetime(2026, 1, 1, tzinfo=UTC)
    row = {
        "id": "auth0|synced", "email": "First@Example.org", "email_verified": True,
        "username": "synced", "name": None, "given_name": None, "family_name": None,
        "picture": None, "blocked": False, "created_at": now, "updated_at": now,
        "last_login": None, "synced_at": now, "deleted_at": None,
    }  # fmt: skip
    upsert_rows(session, [row])
    decide(session, "auth0|synced", SBP, "approve")
    session.commit()
    assert ids(directory.list_users(session, UserQuery(search="first@"))) == ["synced"]

    upsert_rows(session, [{**row, "email": "Second@Example.org"}])
    session.commit()
    assert not directory.list_users(session, UserQuery(search="first@"))
    query = UserQuery(search="second@", platform="sbp", platform_status="approved")
    assert ids(directory.list_users(session, query)) == ["synced"]
